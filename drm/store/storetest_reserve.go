package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/igrid/igrid/internal/proto"
)

func suiteReserve(t *testing.T, newStore func(t *testing.T) Store) {
	two := []Candidate{
		{Node: "node-a", Capacity: Capacity{Cores: 2, MemoryMB: 1024}},
		{Node: "node-b", Capacity: Capacity{Cores: 4, MemoryMB: 4096}},
	}
	// existing sessions, all on node-a unless the state is not holding.
	type held struct {
		state      proto.State
		start      time.Duration // offset from suiteT0
		d          time.Duration
		cores, mem int
	}
	cases := []struct {
		name       string
		existing   []held
		cores, mem int
		want       string // node, or "" for a ReserveError
		reasons    []string
	}{
		{"empty grid takes first", nil, 1, 512, "node-a", nil},
		{"first full goes second", []held{{proto.StateRunning, 0, time.Hour, 2, 0}}, 1, 0, "node-b", nil},
		{"memory full goes second", []held{{proto.StateScheduled, 0, time.Hour, 1, 768}}, 1, 512, "node-b", nil},
		{"window before does not overlap", []held{{proto.StateRunning, -time.Hour, time.Hour, 2, 1024}}, 2, 1024, "node-a", nil},
		{"window after does not overlap", []held{{proto.StateScheduled, time.Hour, time.Hour, 2, 1024}}, 2, 1024, "node-a", nil},
		{"ended holds nothing", []held{{proto.StateEnded, 0, time.Hour, 2, 1024}}, 2, 1024, "node-a", nil},
		{"starting and ending hold", []held{{proto.StateStarting, 0, time.Hour, 1, 0}, {proto.StateEnding, 30 * time.Minute, time.Hour, 1, 0}}, 1, 0, "node-b", nil},
		{"nothing fits", []held{{proto.StateRunning, 0, time.Hour, 1, 0}}, 3, 5000, "",
			[]string{"node-a: cores 3 > free 1", "node-b: memory 5000 MB > free 4096 MB"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := newStore(t)
			defer st.Close()
			ctx := context.Background()
			for i, h := range c.existing {
				s := suiteSession(fmt.Sprintf("s-old%d", i), "bob", suiteT0.Add(h.start), h.d, h.cores, h.mem)
				s.State, s.Node = h.state, "node-a"
				if err := st.InsertSession(ctx, s); err != nil {
					t.Fatal(err)
				}
			}
			s := suiteSession("s-new", "alice", suiteT0, time.Hour, c.cores, c.mem)
			node, err := st.Reserve(ctx, s, two, suiteAdmitter{})
			if c.want != "" {
				if err != nil || node != c.want {
					t.Fatalf("Reserve = %q, %v; want %q", node, err, c.want)
				}
				got, err := st.Session(ctx, "s-new")
				if err != nil || got.State != proto.StateScheduled || got.Node != c.want {
					t.Fatalf("stored %+v, %v", got, err)
				}
				return
			}
			var re *ReserveError
			if !errors.As(err, &re) || !errors.Is(err, ErrNoCapacity) {
				t.Fatalf("Reserve = %q, %v; want *ReserveError", node, err)
			}
			for i, r := range re.Rejections {
				if i >= len(c.reasons) || r.String() != c.reasons[i] {
					t.Errorf("rejection %d = %q, want %v", i, r, c.reasons)
				}
			}
			if _, err := st.Session(ctx, "s-new"); !errors.Is(err, ErrNotFound) {
				t.Errorf("a refused reservation left a row: %v", err)
			}
		})
	}
}

func suiteTransition(t *testing.T, st Store) {
	defer st.Close()
	ctx := context.Background()
	s := suiteSession("s-t", "alice", suiteT0, time.Hour, 1, 0)
	s.State = proto.StateScheduled
	if err := st.InsertSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	conn := &proto.Connect{SSH: &proto.SSHConnect{Host: "127.0.0.1", Port: 2201, User: "alice"}}
	steps := []struct {
		name      string
		from      proto.State
		change    Change
		wantErr   error
		wantState proto.State
	}{
		{"scheduled to running is not allowed", proto.StateScheduled, Change{To: proto.StateRunning}, ErrBadTransition, proto.StateScheduled},
		{"start", proto.StateScheduled, Change{To: proto.StateStarting}, nil, proto.StateStarting},
		{"stale from", proto.StateScheduled, Change{To: proto.StateStarting}, ErrStateChanged, proto.StateStarting},
		{"running with connect", proto.StateStarting, Change{To: proto.StateRunning, Account: "igeng01", Connect: conn}, nil, proto.StateRunning},
		{"ending", proto.StateRunning, Change{To: proto.StateEnding, Reason: "usage time over"}, nil, proto.StateEnding},
		{"ended keeps reason", proto.StateEnding, Change{To: proto.StateEnded}, nil, proto.StateEnded},
		{"ended is terminal", proto.StateEnded, Change{To: proto.StateRunning}, ErrBadTransition, proto.StateEnded},
	}
	for _, c := range steps {
		t.Run(c.name, func(t *testing.T) {
			_, err := st.Transition(ctx, "s-t", c.from, c.change)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("Transition: %v, want %v", err, c.wantErr)
			}
			got, err := st.Session(ctx, "s-t")
			if err != nil || got.State != c.wantState {
				t.Fatalf("state %s, %v; want %s", got.State, err, c.wantState)
			}
		})
	}
	got, _ := st.Session(ctx, "s-t")
	if got.Account != "igeng01" || got.Reason != "usage time over" || got.Connect.SSH == nil || got.Connect.SSH.Port != 2201 {
		t.Errorf("final session %+v", got)
	}
	if _, err := st.Transition(ctx, "s-none", proto.StateScheduled, Change{To: proto.StateStarting}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown session: %v", err)
	}
}

// suiteConcurrentReserve: 50 goroutines race for the last core of one node
// in overlapping windows; exactly one may win.
func suiteConcurrentReserve(t *testing.T, st Store) {
	defer st.Close()
	ctx := context.Background()
	old := suiteSession("s-old", "bob", suiteT0, time.Hour, 3, 0)
	old.State, old.Node = proto.StateRunning, "node-a"
	if err := st.InsertSession(ctx, old); err != nil {
		t.Fatal(err)
	}
	cands := []Candidate{{Node: "node-a", Capacity: Capacity{Cores: 4, MemoryMB: 1024}}}
	const n = 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, losses := 0, 0
	var other []error
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := suiteT0.Add(time.Duration(i) * time.Minute)
			s := suiteSession(fmt.Sprintf("s-%02d", i), "alice", start, time.Hour, 1, 0)
			_, err := st.Reserve(ctx, s, cands, suiteAdmitter{})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, ErrNoCapacity):
				losses++
			default:
				other = append(other, err)
			}
		}()
	}
	wg.Wait()
	if len(other) > 0 {
		t.Fatalf("unexpected errors: %v", other)
	}
	if wins != 1 || losses != n-1 {
		t.Fatalf("wins = %d, losses = %d; want 1 and %d", wins, losses, n-1)
	}
	held, err := st.Reserved(ctx, suiteT0, suiteT0.Add(2*time.Hour))
	if err != nil || held["node-a"].Cores != 4 {
		t.Fatalf("Reserved = %v, %v; want 4 cores on node-a", held, err)
	}
}

// suiteConcurrentTransition: many callers try the same change; one applies.
func suiteConcurrentTransition(t *testing.T, st Store) {
	defer st.Close()
	ctx := context.Background()
	s := suiteSession("s-c", "alice", suiteT0, time.Hour, 1, 0)
	s.State = proto.StateRunning
	if err := st.InsertSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	const n = 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := st.Transition(ctx, "s-c", proto.StateRunning, Change{To: proto.StateEnding})
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, ErrStateChanged) {
				t.Errorf("Transition: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d callers applied running → ending, want 1", wins)
	}
}
