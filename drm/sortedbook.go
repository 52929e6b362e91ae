package drm

import (
	"cmp"
	"slices"
	"time"

	"github.com/igrid/igrid/drm/store"
)

// sortedBook is every holding booking sorted by start, with the longest
// window, so the bookings overlapping a window are found by binary search.
// Beside each booking it keeps its window in nanoseconds and its node as a
// small number, so a decision's scan compares integers only.
type sortedBook struct {
	all        []*store.Booking // pointers: an insert moves 8 bytes a booking
	start, end []int64
	nid        []int32
	names      []string // nid → node name
	ids        map[string]int32
	byID       map[string]*store.Booking // session id → its entry in all
	maxDur     time.Duration
}

// peakScratch is what one peaks call works in, owned by its caller (a
// decision's planBufs), so that peaks only reads the book and decisions
// compute theirs side by side under the read lock: out is the list built;
// slot[node number] is 1 + the node's entry in out (zeroed after); count
// and at are each entry's bookings in the window and where they start in
// group.
type peakScratch struct {
	out             []nodePeak
	slot            []int32
	count, at, fill []int32
	group           []int32
	evs             []sweepEvent
}

func newSortedBook(bs []store.Booking) *sortedBook {
	b := &sortedBook{ids: map[string]int32{}, byID: make(map[string]*store.Booking, len(bs))}
	slices.SortFunc(bs, func(x, y store.Booking) int { return x.Start.Compare(y.Start) })
	for _, x := range bs {
		b.insertAt(len(b.all), x)
	}
	return b
}

func (b *sortedBook) insert(x store.Booking) {
	i, _ := slices.BinarySearch(b.start, x.Start.UnixNano())
	b.insertAt(i, x)
}

func (b *sortedBook) insertAt(i int, x store.Booking) {
	id, ok := b.ids[x.Node]
	if !ok {
		id = int32(len(b.names))
		b.ids[x.Node], b.names = id, append(b.names, x.Node)
	}
	b.all = slices.Insert(b.all, i, &x)
	b.byID[x.ID] = &x
	b.start = slices.Insert(b.start, i, x.Start.UnixNano())
	b.end = slices.Insert(b.end, i, x.End.UnixNano())
	b.nid = slices.Insert(b.nid, i, id)
	b.maxDur = max(b.maxDur, x.End.Sub(x.Start))
}

func (b *sortedBook) has(id string) bool {
	_, ok := b.byID[id]
	return ok
}

// apply brings the copy to x, a session as last written: its entry is
// replaced, or dropped when x no longer holds capacity.
func (b *sortedBook) apply(x store.Booking) {
	if old, ok := b.byID[x.ID]; ok {
		if sameBooking(old, &x) {
			return
		}
		b.remove(old)
	}
	if store.Holding(x.State) {
		b.insert(x)
	}
}

// remove drops entry p: it is found among the entries of its start.
func (b *sortedBook) remove(p *store.Booking) {
	i, _ := slices.BinarySearch(b.start, p.Start.UnixNano())
	for ; i < len(b.all) && b.all[i] != p; i++ {
	}
	if i == len(b.all) {
		return
	}
	delete(b.byID, p.ID)
	b.all = slices.Delete(b.all, i, i+1)
	b.start = slices.Delete(b.start, i, i+1)
	b.end = slices.Delete(b.end, i, i+1)
	b.nid = slices.Delete(b.nid, i, i+1)
}

func sameBooking(a, b *store.Booking) bool {
	return a.Node == b.Node && a.State == b.State && a.Start.Equal(b.Start) && a.End.Equal(b.End) &&
		a.Capacity == b.Capacity && a.User == b.User && a.Class == b.Class
}

// nodePeak is the peak held on one node in a window; nid numbers the
// node in its peakSet's names.
type nodePeak struct {
	nid  int32
	node string
	held store.Capacity
}

// peakSet is every node's peak in one window: list, and names, the
// book's node numbering (only ever appended to), so that the index can
// translate numbers to its positions without a map lookup per node.
type peakSet struct {
	list  []nodePeak
	names []string
}

// peaks groups the bookings overlapping [from, to) by node and takes each
// node's peak; a node with one booking there holds just its capacity. The
// list, in order of each node's first booking, is built in sc.out.
// Grouping is a counting sort by node: linear in the window's bookings.
func (b *sortedBook) peaks(from, to time.Time, sc *peakScratch) peakSet {
	f, t := from.UnixNano(), to.UnixNano()
	lo, _ := slices.BinarySearch(b.start, f-int64(b.maxDur))
	hi, _ := slices.BinarySearch(b.start, t)
	if len(sc.slot) < len(b.names) {
		sc.slot = make([]int32, len(b.names)+len(b.names)/4)
	}
	out, count := sc.out[:0], sc.count[:0]
	for k := lo; k < hi; k++ {
		if b.end[k] <= f {
			continue
		}
		id := b.nid[k]
		if sc.slot[id] == 0 {
			out = append(out, nodePeak{nid: id, node: b.names[id], held: b.all[k].Capacity})
			count = append(count, 0)
			sc.slot[id] = int32(len(out))
		}
		count[sc.slot[id]-1]++
	}
	sc.out, sc.count = out, count
	b.groupPeaks(sc, lo, hi, f)
	for _, p := range out {
		sc.slot[p.nid] = 0
	}
	return peakSet{list: out, names: b.names[:len(b.names):len(b.names)]}
}

// groupPeaks sets the peak of every node in sc.out with more than one
// booking in the window: their positions are laid out node by node
// (offsets from sc.count), then each node's are swept.
func (b *sortedBook) groupPeaks(sc *peakScratch, lo, hi int, from int64) {
	at, n := sc.at[:0], int32(0)
	for _, c := range sc.count {
		at = append(at, n)
		if c > 1 {
			n += c
		}
	}
	sc.at = at
	if n == 0 {
		return
	}
	group := slices.Grow(sc.group[:0], int(n))[:n]
	fill := append(sc.fill[:0], at...) // next free place of each node's run
	sc.fill = fill
	for k := lo; k < hi; k++ {
		if b.end[k] <= from {
			continue
		}
		s := sc.slot[b.nid[k]] - 1
		if sc.count[s] > 1 {
			group[fill[s]] = int32(k)
			fill[s]++
		}
	}
	for s, c := range sc.count {
		if c > 1 {
			sc.out[s].held = b.sweep(group[at[s]:at[s]+c], from, sc)
		}
	}
	sc.group = group
}

// sweepEvent is a booking's start (clipped to the window) or end; at one
// instant ends sort first (kind), windows being half open.
type sweepEvent struct {
	at   int64
	kind int8 // evEnd or evStart
	k    int32
}

const (
	evEnd int8 = iota
	evStart
)

// sweep is store.Peak over the bookings at positions ks, which all
// overlap the window starting at from: the same sweep (ends before starts
// at one instant, windows being half open) on the copy's integers.
func (b *sortedBook) sweep(ks []int32, from int64, sc *peakScratch) store.Capacity {
	evs := sc.evs[:0]
	for _, k := range ks {
		evs = append(evs, sweepEvent{at: max(b.start[k], from), kind: evStart, k: k}, sweepEvent{at: b.end[k], kind: evEnd, k: k})
	}
	slices.SortFunc(evs, func(x, y sweepEvent) int {
		if x.at != y.at {
			return cmp.Compare(x.at, y.at)
		}
		return cmp.Compare(x.kind, y.kind)
	})
	sc.evs = evs
	var cur, peak store.Capacity
	for _, e := range evs {
		if e.kind == evEnd {
			cur = cur.Sub(b.all[e.k].Capacity)
			continue
		}
		cur = cur.Add(b.all[e.k].Capacity)
		peak = peak.Max(cur)
	}
	return peak
}

// peakMap is a peaks list by node name.
func peakMap(ps peakSet) map[string]store.Capacity {
	m := make(map[string]store.Capacity, len(ps.list))
	for _, p := range ps.list {
		m[p.node] = p.held
	}
	return m
}
