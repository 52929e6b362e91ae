package drm

import (
	"reflect"
	"slices"
	"time"

	"github.com/igrid/igrid/internal/proto"
)

// sharedTTL is how long Shared hands out one statuses slice while no node
// joins, changes its static description or affinity lists, or comes back
// online. Within it, load averages and a node going silent show late by
// at most that much: the booking and the dispatcher (a node that does not
// answer → the next candidate) do not rely on them.
const sharedTTL = 250 * time.Millisecond

type sharedStatuses struct {
	at   time.Time
	gen  uint64
	list []proto.NodeStatus
}

// Shared is Statuses for the scheduler: one slice, shared by every caller
// and never written, kept until a node changes what the scheduler indexes
// or sharedTTL passes, so that the scheduler's node index (nodeindex.go)
// is rebuilt only then, not once per decision. Callers must not modify it.
func (r *Registry) Shared(now time.Time) []proto.NodeStatus {
	r.mu.Lock()
	c, gen := r.shared, r.gen
	r.mu.Unlock()
	if c.list != nil && c.gen == gen && !now.Before(c.at) && now.Sub(c.at) < sharedTTL {
		return c.list
	}
	list := r.Statuses(now)
	if r.Overlay != nil {
		r.Overlay(now, list)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gen == gen {
		r.shared = sharedStatuses{at: now, gen: gen, list: list}
	}
	return list
}

// noteChange bumps the generation when hb changes what the scheduler
// indexes of e: a new node, another static description or affinity list,
// or a node back online. Called with r.mu held, before e is updated.
func (r *Registry) noteChange(e *nodeEntry, hb proto.Heartbeat, now time.Time) {
	st := &e.status
	if e.seen.IsZero() || !e.online(now) || !reflect.DeepEqual(st.NodeInfo, hb.Node) ||
		!slices.Equal(st.ReservedAccounts, hb.ReservedAccounts) || !slices.Equal(st.CachedUsers, hb.CachedUsers) {
		r.gen++
	}
}
