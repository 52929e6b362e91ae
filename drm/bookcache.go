package drm

import (
	"context"
	"sync"
	"time"

	"github.com/igrid/igrid/drm/store"
)

// bookTTL is how stale the scheduler's copy of the book may get before
// the changes since its last read are read (store.BookChanges: the
// sessions written since, a few rows); bookFullTTL is how often it is
// read whole instead, which also drops bookings past their end whose
// session no write ended. The copy only guides the pre-check and ranking:
// the booking transaction re-reads the real book, so staleness can cost a
// retry on the next candidate, never an over-commit.
const (
	bookTTL     = 250 * time.Millisecond
	bookFullTTL = time.Minute
)

// bookCache is the scheduler's in-memory copy of every holding booking,
// grouped by node: read whole at start and every bookFullTTL, brought up
// to date with the changes every bookTTL, and updated at once with this
// scheduler's own bookings (optimistic plans on a snapshot, one applier —
// the database — as in Nomad). Reads run in the background: no decision
// waits for one but the first.
type bookCache struct {
	mu         sync.RWMutex
	at, fullAt time.Time // when the last read, and the last whole read, began
	cursor     int64     // store.BookChanges's, for the next read of changes
	book       *sortedBook
	refreshing bool
	added      []store.Booking // own bookings made while a whole read runs
}

// peaks returns each node's peak held in [from, to), built in sc (a
// fresh one when nil). The first call reads the book; later ones use the
// copy under the read lock and, once it is older than bookTTL, refresh it
// in the background.
func (c *bookCache) peaks(ctx context.Context, st store.Store, from, to time.Time, sc *peakScratch) (peakSet, error) {
	if sc == nil {
		sc = &peakScratch{}
	}
	c.mu.RLock()
	ready, stale := c.book != nil, time.Since(c.at) > bookTTL && !c.refreshing
	c.mu.RUnlock()
	if !ready || stale {
		if err := c.refresh(ctx, st); err != nil {
			return peakSet{}, err
		}
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.book.peaks(from, to, sc), nil
}

// refresh reads the book when there is none yet, else starts a background
// read of the changes (or, every bookFullTTL, of the whole book).
func (c *bookCache) refresh(ctx context.Context, st store.Store) error {
	c.mu.Lock()
	if c.book == nil {
		c.mu.Unlock()
		b, cursor, at, err := loadBook(ctx, st)
		if err != nil {
			return err
		}
		c.mu.Lock()
		if c.book == nil {
			c.book, c.cursor, c.at, c.fullAt = b, cursor, at, at
		}
	} else if time.Since(c.at) > bookTTL && !c.refreshing {
		c.refreshing = true
		if whole := time.Since(c.fullAt) > bookFullTTL; whole {
			c.added = nil
			go c.reload(st)
		} else {
			go c.update(st, c.cursor)
		}
	}
	c.mu.Unlock()
	return nil
}

// reload reads the whole book and swaps it in, keeping the bookings this
// scheduler made meanwhile (the read may have missed them).
func (c *bookCache) reload(st store.Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, cursor, at, err := loadBook(ctx, st)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refreshing = false
	if err != nil {
		return // keep the old copy; the next decision tries again
	}
	for _, x := range c.added {
		if !b.has(x.ID) { // else the read saw it, as made or changed since
			b.insert(x)
		}
	}
	c.book, c.cursor, c.at, c.fullAt, c.added = b, cursor, at, at, nil
}

// update applies the changes since cursor to the copy.
func (c *bookCache) update(st store.Store, cursor int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	at := time.Now()
	bs, next, err := st.BookChanges(ctx, cursor, time.Time{})
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refreshing = false
	if err != nil {
		return // the next decision tries again
	}
	for _, x := range bs {
		c.book.apply(x)
	}
	c.cursor, c.at = next, at
}

func loadBook(ctx context.Context, st store.Store) (*sortedBook, int64, time.Time, error) {
	now := time.Now()
	bs, cursor, err := st.BookChanges(ctx, 0, now.Add(-time.Minute))
	if err != nil {
		return nil, 0, now, err
	}
	return newSortedBook(bs), cursor, now, nil
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
	c.book.apply(b)
	if c.refreshing {
		c.added = append(c.added, b)
	}
}

// Warm reads the book into the scheduler's copy, so that the first
// decision does not wait for it (the server calls it at Start).
func (sc *Scheduler) Warm(ctx context.Context) error {
	now := time.Now()
	_, err := sc.cache.peaks(ctx, sc.store, now, now, nil)
	return err
}
