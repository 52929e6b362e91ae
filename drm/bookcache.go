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
type sortedBook struct {
	all    []store.Booking
	maxDur time.Duration
}

func newSortedBook(bs []store.Booking) *sortedBook {
	b := &sortedBook{all: bs}
	slices.SortFunc(b.all, func(x, y store.Booking) int { return x.Start.Compare(y.Start) })
	for _, x := range bs {
		b.maxDur = max(b.maxDur, x.End.Sub(x.Start))
	}
	return b
}

func (b *sortedBook) insert(x store.Booking) {
	i, _ := slices.BinarySearchFunc(b.all, x.Start, func(e store.Booking, t time.Time) int { return e.Start.Compare(t) })
	b.all = slices.Insert(b.all, i, x)
	b.maxDur = max(b.maxDur, x.End.Sub(x.Start))
}

func (b *sortedBook) has(id string) bool {
	return slices.ContainsFunc(b.all, func(x store.Booking) bool { return x.ID == id })
}

// peaks groups the bookings overlapping [from, to) by node and takes each
// node's peak.
func (b *sortedBook) peaks(from, to time.Time) map[string]store.Capacity {
	cmpStart := func(e store.Booking, t time.Time) int { return e.Start.Compare(t) }
	lo, _ := slices.BinarySearchFunc(b.all, from.Add(-b.maxDur), cmpStart)
	hi, _ := slices.BinarySearchFunc(b.all, to, cmpStart)
	byNode := map[string][]store.Booking{}
	for _, x := range b.all[lo:hi] {
		if x.End.After(from) {
			byNode[x.Node] = append(byNode[x.Node], x)
		}
	}
	out := make(map[string]store.Capacity, len(byNode))
	for node, list := range byNode {
		out[node] = store.Peak(list, from, to)
	}
	return out
}

// peaks returns each node's peak held in [from, to). The first call
// reads the book; later ones use the copy and, once it is older than
// bookTTL, reload it in the background so no decision waits for a full
// read.
func (c *bookCache) peaks(ctx context.Context, st store.Store, from, to time.Time) (map[string]store.Capacity, error) {
	c.mu.Lock()
	if c.book == nil {
		c.mu.Unlock()
		b, at, err := loadBook(ctx, st)
		if err != nil {
			return nil, err
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
