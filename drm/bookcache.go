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
	byNode     map[string][]store.Booking
	refreshing bool
	added      []store.Booking // own bookings made while a reload runs
}

// peaks returns each node's peak held in [from, to). The first call
// reads the book; later ones use the copy and, once it is older than
// bookTTL, reload it in the background so no decision waits for a full
// read.
func (c *bookCache) peaks(ctx context.Context, st store.Store, from, to time.Time) (map[string]store.Capacity, error) {
	c.mu.Lock()
	if c.byNode == nil {
		c.mu.Unlock()
		m, at, err := loadBook(ctx, st)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		if c.byNode == nil {
			c.byNode, c.at = m, at
		}
	} else if time.Since(c.at) > bookTTL && !c.refreshing {
		c.refreshing, c.added = true, nil
		go c.reload(st)
	}
	defer c.mu.Unlock()
	out := map[string]store.Capacity{}
	for node, list := range c.byNode {
		for _, b := range list {
			if b.Start.Before(to) && b.End.After(from) {
				out[node] = store.Peak(list, from, to)
				break
			}
		}
	}
	return out, nil
}

// reload reads the whole book and swaps it in, keeping the bookings this
// scheduler made meanwhile (the read may have missed them).
func (c *bookCache) reload(st store.Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, at, err := loadBook(ctx, st)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refreshing = false
	if err != nil {
		return // keep the old copy; the next decision tries again
	}
	for _, b := range c.added {
		if !slices.ContainsFunc(m[b.Node], func(x store.Booking) bool { return x.ID == b.ID }) {
			m[b.Node] = append(m[b.Node], b)
		}
	}
	c.byNode, c.at, c.added = m, at, nil
}

func loadBook(ctx context.Context, st store.Store) (map[string][]store.Booking, time.Time, error) {
	now := time.Now()
	bs, err := st.Bookings(ctx, now.Add(-time.Minute), now.Add(100*365*24*time.Hour))
	if err != nil {
		return nil, now, err
	}
	m := make(map[string][]store.Booking, len(bs))
	for _, b := range bs {
		m[b.Node] = append(m[b.Node], b)
	}
	return m, now, nil
}

// add records a booking this scheduler just made.
func (c *bookCache) add(s store.Session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byNode == nil {
		return
	}
	b := store.Booking{ID: s.ID, Node: s.Node, User: s.User, Class: s.Class,
		State: s.State, Start: s.Start, End: s.End, Capacity: s.Demand()}
	c.byNode[s.Node] = append(c.byNode[s.Node], b)
	if c.refreshing {
		c.added = append(c.added, b)
	}
}
