package drm

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/internal/proto"
	"github.com/igrid/igrid/internal/testutil"
)

// TestSortedBookPeaks: the binary-searched peaks equal a full scan, for
// random books and windows, before and after inserts.
func TestSortedBookPeaks(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	random := func(i int) store.Booking {
		start := t0.Add(time.Duration(r.IntN(48*60)) * time.Minute)
		return store.Booking{ID: fmt.Sprint(i), Node: fmt.Sprintf("n%d", r.IntN(20)), Start: start,
			End: start.Add(time.Duration(1+r.IntN(300)) * time.Minute), Capacity: store.Capacity{Cores: 1 + r.IntN(4), Sessions: 1}}
	}
	var all []store.Booking
	for i := range 500 {
		all = append(all, random(i))
	}
	b := newSortedBook(append([]store.Booking(nil), all...))
	for i := range 50 {
		x := random(1000 + i)
		all = append(all, x)
		b.insert(x)
	}
	for range 200 {
		from := t0.Add(time.Duration(r.IntN(50*60)) * time.Minute)
		to := from.Add(time.Duration(1+r.IntN(180)) * time.Minute)
		got := peakMap(b.peaks(from, to, &peakScratch{}))
		byNode := map[string][]store.Booking{}
		for _, x := range all {
			byNode[x.Node] = append(byNode[x.Node], x)
		}
		for node, list := range byNode {
			want := store.Peak(list, from, to)
			if got[node] != want {
				t.Fatalf("node %s in [%s, %s): peaks %+v, full scan %+v", node, from, to, got[node], want)
			}
		}
	}
}

// TestSortedBookApply: a copy kept by apply — new bookings, moves,
// resizes, ends — gives the peaks of the bookings as last written.
func TestSortedBookApply(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	states := []proto.State{proto.StateScheduled, proto.StateRunning, proto.StateQueued, proto.StateEnded, proto.StateFailed}
	random := func(id string) store.Booking {
		start := t0.Add(time.Duration(r.IntN(24*60)) * time.Minute)
		return store.Booking{ID: id, Node: fmt.Sprintf("n%d", r.IntN(10)), State: states[r.IntN(len(states))], Start: start,
			End: start.Add(time.Duration(1+r.IntN(300)) * time.Minute), Capacity: store.Capacity{Cores: 1 + r.IntN(4), Sessions: 1}}
	}
	last := map[string]store.Booking{}
	b := newSortedBook(nil)
	for i := range 3000 {
		x := random(fmt.Sprint(r.IntN(400)))
		if i%7 == 0 { // the same write again changes nothing
			if old, ok := last[x.ID]; ok {
				x = old
			}
		}
		last[x.ID] = x
		b.apply(x)
	}
	var holding []store.Booking
	for _, x := range last {
		if store.Holding(x.State) {
			holding = append(holding, x)
		}
	}
	if len(b.all) != len(holding) || len(b.byID) != len(holding) {
		t.Fatalf("copy has %d entries (%d by id), want %d", len(b.all), len(b.byID), len(holding))
	}
	if !slices.IsSorted(b.start) {
		t.Fatal("copy not sorted by start")
	}
	for range 100 {
		from := t0.Add(time.Duration(r.IntN(26*60)) * time.Minute)
		to := from.Add(time.Duration(1+r.IntN(180)) * time.Minute)
		got := peakMap(b.peaks(from, to, &peakScratch{}))
		for node, want := range peaksOf(holding, from, to) {
			if got[node] != want {
				t.Fatalf("node %s: copy %+v, written %+v", node, got[node], want)
			}
		}
	}
}

func peaksOf(bs []store.Booking, from, to time.Time) map[string]store.Capacity {
	byNode := map[string][]store.Booking{}
	for _, x := range bs {
		byNode[x.Node] = append(byNode[x.Node], x)
	}
	out := map[string]store.Capacity{}
	for node, list := range byNode {
		out[node] = store.Peak(list, from, to)
	}
	return out
}

// TestBookCacheSeesOtherWriters: the scheduler's copy picks up, within a
// few bookTTL, bookings it did not make and sessions that ended, from a
// real SQLite store.
func TestBookCacheSeesOtherWriters(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Now().UTC().Add(time.Hour)
	ins := func(id string, cores int) {
		s := store.Session{Session: proto.Session{ID: id, User: "ann", Class: "c", State: proto.StateScheduled, Node: "n1",
			Start: t0, End: t0.Add(time.Hour)}, Cores: cores, Created: t0, Updated: t0}
		if err := st.InsertSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	ins("a", 2)
	var c bookCache
	held := func() int {
		ps, err := c.peaks(ctx, st, t0, t0.Add(time.Hour), nil)
		if err != nil {
			t.Fatal(err)
		}
		return peakMap(ps)["n1"].Cores
	}
	if got := held(); got != 2 {
		t.Fatalf("first read holds %d cores, want 2", got)
	}
	ins("b", 3)
	testutil.CheckFor(t, 5*time.Second, func() error { return wantHeld(held(), 5, "the other writer's booking") })
	if _, err := st.Transition(ctx, "a", proto.StateScheduled, store.Change{To: proto.StateFailed, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	testutil.CheckFor(t, 5*time.Second, func() error { return wantHeld(held(), 3, "the failed booking gone") })
}

func wantHeld(got, want int, what string) error {
	if got != want {
		return fmt.Errorf("copy holds %d cores, want %d (%s)", got, want, what)
	}
	return nil
}
