package drm

import (
	"context"
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
	mu     sync.Mutex
	at     time.Time
	byNode map[string][]store.Booking
}

// peaks returns each node's peak held in [from, to).
func (c *bookCache) peaks(ctx context.Context, st store.Store, from, to time.Time) (map[string]store.Capacity, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byNode == nil || time.Since(c.at) > bookTTL {
		now := time.Now()
		bs, err := st.Bookings(ctx, now.Add(-time.Minute), now.Add(100*365*24*time.Hour))
		if err != nil {
			return nil, err
		}
		c.byNode = make(map[string][]store.Booking, len(bs))
		for _, b := range bs {
			c.byNode[b.Node] = append(c.byNode[b.Node], b)
		}
		c.at = now
	}
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

// add records a booking this scheduler just made.
func (c *bookCache) add(s store.Session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byNode == nil {
		return
	}
	c.byNode[s.Node] = append(c.byNode[s.Node], store.Booking{ID: s.ID, Node: s.Node, User: s.User, Class: s.Class,
		State: s.State, Start: s.Start, End: s.End, Capacity: s.Demand()})
}

// invalidate makes the next read go to the store.
func (c *bookCache) invalidate() {
	c.mu.Lock()
	c.byNode = nil
	c.mu.Unlock()
}
