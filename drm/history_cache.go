package drm

import (
	"sync"
	"time"
)

// historyTTL is how long the scheduler keeps a user's history. History
// changes only when one of the user's sessions starts running: this DRM's
// dispatcher forgets the user at once (Scheduler.ForgetHistory); a
// session another DRM process dispatched (two DRMs on PostgreSQL) is seen
// within historyTTL. History only steers ranking (previous node, usual
// hours), never admission, so a stale entry costs at worst a less
// affine node, never an over-commit.
const historyTTL = 30 * time.Second

// historyMax bounds the users kept; past it the cache starts again empty.
const historyMax = 100_000

// historyCache is the users' histories by name, each read once per
// historyTTL instead of one query per decision.
type historyCache struct {
	mu sync.Mutex
	m  map[string]historyEntry
}

type historyEntry struct {
	u     UserHistory
	at    time.Time // when the read began, or when the user was forgotten
	valid bool      // false: a forget mark
}

func (c *historyCache) get(user string, now time.Time) (UserHistory, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[user]
	if !ok || !e.valid || now.Sub(e.at) > historyTTL || now.Before(e.at) {
		return UserHistory{}, false
	}
	return e.u, true
}

// put stores u read at "at"; a read that began before the user was last
// forgotten is not kept (it may have missed the session that started).
func (c *historyCache) put(u UserHistory, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= historyMax {
		c.m = map[string]historyEntry{}
	}
	if e, ok := c.m[u.Name]; ok && e.at.After(at) {
		return
	}
	c.m[u.Name] = historyEntry{u: u, at: at, valid: true}
}

// forget drops user's entry, leaving a mark dated now that keeps reads
// begun earlier out of the cache.
func (c *historyCache) forget(user string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]historyEntry{}
	}
	c.m[user] = historyEntry{at: now}
}

// ForgetHistory makes the next decision for user read their history
// again: the dispatcher calls it when one of their sessions starts
// running.
func (sc *Scheduler) ForgetHistory(user string) {
	sc.hist.forget(user, time.Now())
}
