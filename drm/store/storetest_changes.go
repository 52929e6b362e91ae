package store

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/igrid/igrid/internal/proto"
)

// bookCopy is a book kept from BookChanges, as the scheduler keeps one.
type bookCopy struct {
	cursor int64
	held   map[string]Booking
}

func (c *bookCopy) read(t *testing.T, st Store) []Booking {
	t.Helper()
	bs, next, err := st.BookChanges(context.Background(), c.cursor, suiteT0.Add(-time.Hour))
	if err != nil {
		t.Fatalf("BookChanges(%d): %v", c.cursor, err)
	}
	if next < c.cursor || next == 0 {
		t.Fatalf("BookChanges(%d) returned cursor %d", c.cursor, next)
	}
	if c.held == nil {
		c.held = map[string]Booking{}
	}
	for _, b := range bs {
		if Holding(b.State) {
			c.held[b.ID] = b
		} else {
			delete(c.held, b.ID)
		}
	}
	c.cursor = next
	return bs
}

func ids(bs []Booking) map[string]proto.State {
	m := map[string]proto.State{}
	for _, b := range bs {
		m[b.ID] = b.State
	}
	return m
}

// suiteBookChanges: a full read, then every kind of write shows in the
// next read of changes, and nothing else does.
func suiteBookChanges(t *testing.T, st Store) {
	defer st.Close()
	ctx := context.Background()
	node := Candidate{Node: "node-a", Capacity: Capacity{Cores: 8, MemoryMB: 1 << 20}}
	for _, s := range []struct {
		id    string
		state proto.State
	}{{"s-run", proto.StateRunning}, {"s-sched", proto.StateScheduled}, {"s-start", proto.StateStarting},
		{"s-ended", proto.StateEnded}, {"s-denied", proto.StateDenied}} {
		x := suiteSession(s.id, "alice", suiteT0, time.Hour, 1, 0)
		x.State, x.Node = s.state, "node-a"
		if err := st.InsertSession(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	var c bookCopy
	full := ids(c.read(t, st))
	want := map[string]proto.State{"s-run": proto.StateRunning, "s-sched": proto.StateScheduled, "s-start": proto.StateStarting}
	if !maps.Equal(full, want) {
		t.Fatalf("full read = %v, want %v", full, want)
	}
	if got := c.read(t, st); len(got) != 0 {
		t.Fatalf("changes with nothing written = %v", ids(got))
	}
	if _, err := st.Book(ctx, BookRequest{Session: suiteSession("s-new", "bob", suiteT0, time.Hour, 1, 0),
		Candidates: []Candidate{node}, Admit: suiteAdmitter{}, Now: suiteT0}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Transition(ctx, "s-run", proto.StateRunning, Change{To: proto.StateEnding}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Extend(ctx, "s-sched", suiteT0.Add(2*time.Hour), node, suiteAdmitter{}, Quota{}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Move(ctx, "s-start", proto.StateStarting, []Candidate{{Node: "node-b", Capacity: node.Capacity}},
		suiteAdmitter{}, "moved"); err != nil {
		t.Fatal(err)
	}
	got := c.read(t, st)
	want = map[string]proto.State{"s-new": proto.StateScheduled, "s-run": proto.StateEnding,
		"s-sched": proto.StateScheduled, "s-start": proto.StateScheduled}
	if !maps.Equal(ids(got), want) {
		t.Fatalf("changes = %v, want %v", ids(got), want)
	}
	if b := c.held["s-sched"]; !b.End.Equal(suiteT0.Add(2 * time.Hour)) {
		t.Errorf("extended session's end in the copy = %s", b.End)
	}
	if b := c.held["s-start"]; b.Node != "node-b" {
		t.Errorf("moved session's node in the copy = %s", b.Node)
	}
	if _, err := st.Transition(ctx, "s-run", proto.StateEnding, Change{To: proto.StateEnded}); err != nil {
		t.Fatal(err)
	}
	if got := ids(c.read(t, st)); !maps.Equal(got, map[string]proto.State{"s-run": proto.StateEnded}) {
		t.Fatalf("changes after the end = %v", got)
	}
	if _, ok := c.held["s-run"]; ok {
		t.Error("an ended session is still held in the copy")
	}
}

// suiteBookChangesConcurrent: a copy fed only by changes read while 40
// writers book and end sessions ends up equal to a full read.
func suiteBookChangesConcurrent(t *testing.T, st Store) {
	defer st.Close()
	ctx := context.Background()
	var c bookCopy
	c.read(t, st)
	node := Candidate{Node: "node-a", Capacity: Capacity{Cores: 1000, MemoryMB: 1 << 30}}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("s-%02d", i)
			s := suiteSession(id, fmt.Sprintf("u%d", i), suiteT0.Add(time.Duration(i)*time.Minute), time.Hour, 1, 0)
			if _, err := st.Book(ctx, BookRequest{Session: s, Candidates: []Candidate{node}, Admit: suiteAdmitter{}, Now: suiteT0}); err != nil {
				errs <- err
				return
			}
			if i%3 == 0 {
				if _, err := st.Transition(ctx, id, proto.StateScheduled, Change{To: proto.StateFailed, Reason: "test"}); err != nil {
					errs <- err
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for reading := true; reading; {
		select {
		case <-done:
			reading = false
		default:
			c.read(t, st)
		}
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	c.read(t, st)
	var whole bookCopy
	whole.read(t, st)
	if len(c.held) != 40-14 || !maps.EqualFunc(c.held, whole.held, func(a, b Booking) bool { return a.State == b.State && a.Node == b.Node }) {
		t.Fatalf("copy from changes holds %d sessions, a full read %d (want 26)", len(c.held), len(whole.held))
	}
}
