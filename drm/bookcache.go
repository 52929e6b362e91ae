package drm

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/igrid/igrid/drm/store"
)

// bookTTL is how stale the scheduler's copy of the book may get before it
// is read again. The copy only guides the pre-check and ranking: the
// booking transaction re-reads the real book, so staleness can cost a
// retry on the next candidate, never an over-commit.
const bookTTL = time.Second

// bookCache is the scheduler's in-memory copy of every holding booking,
// grouped by node: read whole at most every bookTTL, and updated at once
// with this scheduler's own bookings (optimistic plans on a snapshot, one
// applier — the database — as in Nomad).
type bookCache struct {
	mu         sync.Mutex
	at         time.Time
	book       *sortedBook
	refreshing bool
	added      []store.Booking // own bookings made while a reload runs
}

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
	maxDur     time.Duration

	// scratch for peaks, reused from call to call (peaks runs under the
	// bookCache's lock): keys are node number << 32 | position, so one
	// integer sort groups the window's bookings by node in book order.
	keys  []uint64
	group []store.Booking
}

func newSortedBook(bs []store.Booking) *sortedBook {
	b := &sortedBook{ids: map[string]int32{}}
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
	b.start = slices.Insert(b.start, i, x.Start.UnixNano())
	b.end = slices.Insert(b.end, i, x.End.UnixNano())
	b.nid = slices.Insert(b.nid, i, id)
	b.maxDur = max(b.maxDur, x.End.Sub(x.Start))
}

func (b *sortedBook) has(id string) bool {
	return slices.ContainsFunc(b.all, func(x *store.Booking) bool { return x.ID == id })
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
// node's peak; a node with one booking there holds just its capacity.
func (b *sortedBook) peaks(from, to time.Time) peakSet {
	f, t := from.UnixNano(), to.UnixNano()
	lo, _ := slices.BinarySearch(b.start, f-int64(b.maxDur))
	hi, _ := slices.BinarySearch(b.start, t)
	keys := b.keys[:0]
	for k := lo; k < hi; k++ {
		if b.end[k] > f {
			keys = append(keys, uint64(b.nid[k])<<32|uint64(k))
		}
	}
	slices.Sort(keys)
	b.keys = keys
	out := make([]nodePeak, 0, len(keys))
	for g := 0; g < len(keys); {
		id := int32(keys[g] >> 32)
		e := g + 1
		for e < len(keys) && int32(keys[e]>>32) == id {
			e++
		}
		p := nodePeak{nid: id, node: b.names[id], held: b.all[uint32(keys[g])].Capacity}
		if e-g > 1 {
			group := b.group[:0]
			for _, k := range keys[g:e] {
				group = append(group, *b.all[uint32(k)])
			}
			p.held = store.Peak(group, from, to)
			b.group = group
		}
		out = append(out, p)
		g = e
	}
	return peakSet{list: out, names: b.names[:len(b.names):len(b.names)]}
}

// peakMap is a peaks list by node name.
func peakMap(ps peakSet) map[string]store.Capacity {
	m := make(map[string]store.Capacity, len(ps.list))
	for _, p := range ps.list {
		m[p.node] = p.held
	}
	return m
}

// peaks returns each node's peak held in [from, to). The first call
// reads the book; later ones use the copy and, once it is older than
// bookTTL, reload it in the background so no decision waits for a full
// read.
func (c *bookCache) peaks(ctx context.Context, st store.Store, from, to time.Time) (peakSet, error) {
	c.mu.Lock()
	if c.book == nil {
		c.mu.Unlock()
		b, at, err := loadBook(ctx, st)
		if err != nil {
			return peakSet{}, err
		}
		c.mu.Lock()
		if c.book == nil {
			c.book, c.at = b, at
		}
	} else if time.Since(c.at) > bookTTL && !c.refreshing {
		c.refreshing, c.added = true, nil
		go c.reload(st)
	}
	defer c.mu.Unlock()
	return c.book.peaks(from, to), nil
}

// reload reads the whole book and swaps it in, keeping the bookings this
// scheduler made meanwhile (the read may have missed them).
func (c *bookCache) reload(st store.Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, at, err := loadBook(ctx, st)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refreshing = false
	if err != nil {
		return // keep the old copy; the next decision tries again
	}
	for _, x := range c.added {
		if !b.has(x.ID) {
			b.insert(x)
		}
	}
	c.book, c.at, c.added = b, at, nil
}

func loadBook(ctx context.Context, st store.Store) (*sortedBook, time.Time, error) {
	now := time.Now()
	bs, err := st.Bookings(ctx, now.Add(-time.Minute), now.Add(100*365*24*time.Hour))
	if err != nil {
		return nil, now, err
	}
	return newSortedBook(bs), now, nil
}

// add records a booking this scheduler just made.
func (c *bookCache) add(s store.Session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.book == nil {
		return
	}
	b := store.Booking{ID: s.ID, Node: s.Node, User: s.User, Class: s.Class,
		State: s.State, Start: s.Start, End: s.End, Capacity: s.Demand()}
	c.book.insert(b)
	if c.refreshing {
		c.added = append(c.added, b)
	}
}

// Warm reads the book into the scheduler's copy, so that the first
// decision does not wait for it (the server calls it at Start).
func (sc *Scheduler) Warm(ctx context.Context) error {
	now := time.Now()
	_, err := sc.cache.peaks(ctx, sc.store, now, now)
	return err
}
