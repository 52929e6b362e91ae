package drm

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/internal/proto"
)

// TestPlanIndexedSameAsPlan: over random nodes (a few classes, some
// offline, loads with ties, affinity lists), random bookings and random
// templates, the indexed plan ranks the same candidates with the same
// scores, stores the same trace byte for byte and offers the queueing
// path the same matched nodes as the plan that visits every node.
func TestPlanIndexedSameAsPlan(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for run := range 300 {
		statuses, held := randomNodes(r, 20+r.IntN(300), now)
		tpl := randomTemplate(r, statuses)
		user := UserHistory{Name: fmt.Sprintf("u%d", r.IntN(4))}
		if r.IntN(2) == 0 {
			user.PreviousNode = statuses[r.IntN(len(statuses))].Name
		}
		sc := NewScheduler(nil, nil)
		sc.Rank.TopK = []int{1, 3, DefaultTopK, 0}[r.IntN(4)]
		sc.Rank.Policy = []Policy{LeastLoaded{}, BestFit{}, Spread{}}[r.IntN(3)]
		if r.IntN(2) == 0 {
			sc.Rank.Policy = GridAware{sc.Rank.Policy}
		}
		d := DemandWith(&tpl, nil)
		d.CPUPercent = r.IntN(3) * 400
		t.Run(fmt.Sprint(run), func(t *testing.T) {
			trA, trB := &Trace{}, &Trace{}
			snap := snapshotOf(peakMap(held), statuses, user, store.Session{}, now, nil)
			matchedA, rankedA := sc.plan(&tpl, snap, d, trA)
			matchedB, rankedB := sc.planIndexed(&tpl, newNodeIndex(statuses), held, d, user, trB, takePlanBufs())
			if a, b := scoredNames(rankedA), scoredNames(rankedB); !slices.Equal(a, b) {
				t.Fatalf("%s ranked %v, indexed %v", sc.Rank.Policy.Name(), a, b)
			}
			if a, b := trA.encode(), trB.encode(); !bytes.Equal(a, b) {
				t.Fatalf("traces differ:\nplan    %s\nindexed %s", a, b)
			}
			if a, b := viewNames(matchedA()), viewNames(matchedB()); !slices.Equal(a, b) {
				t.Fatalf("matched %v, indexed %v", a, b)
			}
		})
	}
}

func randomNodes(r *rand.Rand, n int, now time.Time) ([]proto.NodeStatus, peakSet) {
	kinds := []proto.NodeInfo{
		{OS: proto.OS{Name: "linux", Vendor: "debian", Version: "12"}, CPU: proto.CPU{Type: "x86_64", ClockMHz: 2400, Cores: 16},
			MemoryMB: 65536, DiskMB: 1000, Applications: []string{"vim", "gcc"}},
		{OS: proto.OS{Name: "linux", Vendor: "debian", Version: "12"}, CPU: proto.CPU{Type: "x86_64", ClockMHz: 2400, Cores: 4},
			MemoryMB: 8192, DiskMB: 1000, Applications: []string{"vim"}, TrustLevel: "high", MaxSessions: 2},
		{OS: proto.OS{Name: "linux", Vendor: "ubuntu", Version: "24.04"}, CPU: proto.CPU{Type: "arm64", ClockMHz: 3000, Cores: 8},
			MemoryMB: 16384, DiskMB: 1000, Applications: []string{"vim", "python3"}, TrustLevel: "low"},
	}
	out := make([]proto.NodeStatus, n)
	var held peakSet
	book := func(name string, c store.Capacity) {
		held.list = append(held.list, nodePeak{int32(len(held.names)), name, c})
		held.names = append(held.names, name)
	}
	for i := range out {
		info := kinds[r.IntN(len(kinds))]
		info.Name = fmt.Sprintf("n%04d", i)
		st := proto.NodeStatus{NodeInfo: info, Online: r.IntN(8) != 0, LastSeen: now,
			Load: proto.Load{Load1: float64(r.IntN(3)) / 2}}
		if r.IntN(2) == 0 { // the grid aggregate's load, sessions busy or not
			st.Load.From, st.Load.GridCPUPercent = LoadFromGrid, float64(r.IntN(4)*300)
		}
		if r.IntN(10) == 0 {
			st.ReservedAccounts = []string{fmt.Sprintf("u%d", r.IntN(4))}
		}
		if r.IntN(10) == 0 {
			st.CachedUsers = []string{fmt.Sprintf("u%d", r.IntN(4)), fmt.Sprintf("u%d", r.IntN(4))}
		}
		out[i] = st
		if r.IntN(3) == 0 {
			c := 1 + r.IntN(info.CPU.Cores)
			book(info.Name, store.Capacity{Cores: c, MemoryMB: c * 1024, CPUPercent: c * 50, Sessions: 1 + r.IntN(2)})
		}
	}
	book("gone-node", store.Capacity{Cores: 1, Sessions: 1}) // booked on a node no longer reported
	return out, held
}

func randomTemplate(r *rand.Rand, statuses []proto.NodeStatus) proto.Template {
	t := proto.Template{CPU: proto.CPU{Cores: 1 + r.IntN(10)}, MemoryMB: 512 * (1 + r.IntN(20))}
	if r.IntN(3) == 0 {
		t.Applications = []string{"python3"}
	}
	if r.IntN(4) == 0 {
		t.Security.TrustLevel = "standard"
	}
	if r.IntN(6) == 0 {
		t.Node = statuses[r.IntN(len(statuses))].Name
	}
	return t
}

func scoredNames(s []Scored) []string {
	out := make([]string, len(s))
	for i, n := range s {
		out[i] = fmt.Sprintf("%s=%.6f", n.Name, n.Score)
	}
	return out
}

func viewNames(v []NodeView) []string {
	out := make([]string, len(v))
	for i, n := range v {
		out[i] = n.Name
	}
	return out
}

// TestTranslate: book numbers map to index positions, the translation
// grows with the book's numbering and restarts for another book.
func TestTranslate(t *testing.T) {
	statuses, _ := randomNodes(rand.New(rand.NewPCG(1, 1)), 5, time.Now())
	x := newNodeIndex(statuses)
	names := make([]string, 0, 8)
	names = append(names, "n0003", "gone")
	if got := x.translate(names); !slices.Equal(got, []int32{3, -1}) {
		t.Fatalf("translate %v", got)
	}
	names = append(names, "n0001")
	if got := x.translate(names); !slices.Equal(got, []int32{3, -1, 1}) {
		t.Fatalf("grown: translate %v", got)
	}
	if got := x.translate([]string{"n0000", "n0004"}); !slices.Equal(got, []int32{0, 4}) {
		t.Fatalf("other book: translate %v", got)
	}
	if got := x.translate(nil); len(got) != 0 {
		t.Fatalf("empty book: translate %v", got)
	}
}

func TestKthLargest(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	bufs := takePlanBufs()
	defer bufs.release()
	for range 500 {
		vs := make([]float64, 1+r.IntN(200))
		for i := range vs {
			vs[i] = float64(r.IntN(20)) / 4 // ties on purpose
		}
		k := 1 + r.IntN(len(vs))
		sorted := slices.Clone(vs)
		slices.SortFunc(sorted, func(a, b float64) int { return cmp.Compare(b, a) })
		if got := kthLargest(vs, k, bufs); got != sorted[k-1] {
			t.Fatalf("kthLargest(%v, %d) = %v, want %v", vs, k, got, sorted[k-1])
		}
	}
}
