package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/igrid/igrid/internal/proto"
)

// loadNodes are the 10 nodes of the load test, 4 cores and 4 GB each.
func loadNodes() []Candidate {
	var out []Candidate
	for i := range 10 {
		out = append(out, Candidate{Node: fmt.Sprintf("node-%02d", i), Capacity: Capacity{Cores: 4, MemoryMB: 4096}})
	}
	return out
}

// loadSession is request i of the load: a mix of "now" and advance
// windows of 30 min to 2 h that overlap heavily.
func loadSession(i int) Session {
	start := suiteT0
	if i%3 != 0 { // two thirds book ahead, in 15-minute steps over 5 h
		start = suiteT0.Add(time.Duration(i%20) * 15 * time.Minute)
	}
	d := time.Duration(30+(i%4)*30) * time.Minute
	return suiteSession(fmt.Sprintf("s-load-%03d", i), fmt.Sprintf("user%02d", i%25), start, d, 1+i%3, 256*(1+i%4))
}

// TestConcurrentLoad: 500 concurrent reservations for 10 nodes on each
// store; every request is answered, and no instant is over-committed.
func TestConcurrentLoad(t *testing.T) {
	stores := []struct {
		name string
		open func(t *testing.T) Store
	}{
		{"sqlite", func(t *testing.T) Store {
			s, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "drm.db"))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"postgres", newTestPostgres},
	}
	for _, c := range stores {
		t.Run(c.name, func(t *testing.T) {
			st := c.open(t)
			defer st.Close()
			wins := runLoad(t, st, 500)
			if wins == 0 {
				t.Fatal("no reservation succeeded")
			}
			if bad := overcommitted(t, st, loadNodes()); len(bad) > 0 {
				t.Fatalf("over-committed instants: %v", bad)
			}
		})
	}
}

// runLoad sends n concurrent reservations and returns how many won.
func runLoad(t *testing.T, st Store, n int) int {
	t.Helper()
	ctx := context.Background()
	nodes := loadNodes()
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, losses := 0, 0
	var other []error
	begin := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cands := append(append([]Candidate{}, nodes[i%10:]...), nodes[:i%10]...)
			_, err := st.Reserve(ctx, loadSession(i), cands, suiteAdmitter{})
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
	elapsed := time.Since(begin)
	if len(other) > 0 {
		t.Fatalf("%d requests failed, first: %v", len(other), other[0])
	}
	if wins+losses != n {
		t.Fatalf("%d answered of %d", wins+losses, n)
	}
	rows, err := st.Sessions(ctx, SessionFilter{States: []proto.State{proto.StateScheduled}})
	if err != nil || len(rows) != wins {
		t.Fatalf("%d scheduled rows, %v; want %d", len(rows), err, wins)
	}
	t.Logf("%d reservations (%d booked, %d refused) in %v: %.0f/s", n, wins, losses,
		elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
	return wins
}

// overcommitted sweeps every node's holding sessions in time order and
// returns each instant where they need more than the node has.
func overcommitted(t *testing.T, st Store, nodes []Candidate) []string {
	t.Helper()
	list, err := st.Sessions(context.Background(), SessionFilter{States: HoldingStates()})
	if err != nil {
		t.Fatal(err)
	}
	type event struct {
		at         time.Time
		cores, mem int
	}
	byNode := map[string][]event{}
	for _, s := range list {
		byNode[s.Node] = append(byNode[s.Node], event{s.Start, s.Cores, s.MemoryMB}, event{s.End, -s.Cores, -s.MemoryMB})
	}
	var bad []string
	for _, n := range nodes {
		ev := byNode[n.Node]
		sort.Slice(ev, func(i, j int) bool { // ends before starts at the same instant
			if !ev[i].at.Equal(ev[j].at) {
				return ev[i].at.Before(ev[j].at)
			}
			return ev[i].cores < ev[j].cores
		})
		cores, mem := 0, 0
		for _, e := range ev {
			cores, mem = cores+e.cores, mem+e.mem
			if cores > n.Capacity.Cores || mem > n.Capacity.MemoryMB {
				bad = append(bad, fmt.Sprintf("%s at %s: %d cores, %d MB", n.Node, e.at.Format(time.TimeOnly), cores, mem))
			}
		}
	}
	return bad
}
