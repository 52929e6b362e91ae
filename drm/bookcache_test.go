package drm

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/igrid/igrid/drm/store"
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
		got := peakMap(b.peaks(from, to))
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
