package drm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/internal/proto"
)

// Scheduler places a session: match → admit (pre-check) → rank on a
// snapshot, then store.Reserve, which repeats admission inside its
// transaction so concurrent requests can never over-commit a node.
type Scheduler struct {
	Match Matcher
	Admit CapacityAdmitter
	Rank  Ranker

	store store.Store
	nodes func(now time.Time) []proto.NodeStatus
}

// NewScheduler wires the stages in their order.
func NewScheduler(st store.Store, nodes func(now time.Time) []proto.NodeStatus) *Scheduler {
	return &Scheduler{Match: StaticMatcher{}, Admit: CapacityAdmitter{}, Rank: LeastLoaded{}, store: st, nodes: nodes}
}

// Schedule reserves sess (state requested, window set) on a node and
// returns it as stored in state scheduled. When no node fits it records the
// session as denied and returns it with a *DeniedError.
func (sc *Scheduler) Schedule(ctx context.Context, sess store.Session, now time.Time) (store.Session, error) {
	snap, err := sc.snapshot(ctx, sess, now)
	if err != nil {
		return sess, err
	}
	cands, rejected := sc.Plan(&sess.Template, snap)
	node, err := sc.store.Reserve(ctx, sess, cands, sc.Admit)
	var re *store.ReserveError
	switch {
	case err == nil:
		sess.State, sess.Node = proto.StateScheduled, node
		return sess, nil
	case errors.As(err, &re):
		rejected = append(rejected, re.Rejections...)
	default:
		return sess, fmt.Errorf("reserve: %w", err)
	}
	slices.SortFunc(rejected, func(a, b store.Rejection) int { return strings.Compare(a.Node, b.Node) })
	denied := &DeniedError{Rejections: rejected}
	sess.State, sess.Reason = proto.StateDenied, denied.Error()
	if err := sc.store.InsertSession(ctx, sess); err != nil {
		return sess, fmt.Errorf("record denied session: %w", err)
	}
	return sess, denied
}

// Plan runs the pure stages over snap: the candidates for Reserve, best
// first, and the reasons of the nodes left out.
func (sc *Scheduler) Plan(t *proto.Template, snap Snapshot) ([]store.Candidate, []store.Rejection) {
	var feasible []NodeView
	var rejected []store.Rejection
	demand := Demand(t)
	for _, n := range snap.Nodes {
		why := sc.Match.Match(t, n)
		if why == "" {
			why = sc.Admit.PreCheck(n, demand)
		}
		if why != "" {
			rejected = append(rejected, store.Rejection{Node: n.Name, Reason: why})
			continue
		}
		feasible = append(feasible, n)
	}
	var cands []store.Candidate
	for _, n := range sc.Rank.Rank(feasible) {
		cands = append(cands, store.Candidate{Node: n.Name, Capacity: n.Capacity()})
	}
	return cands, rejected
}

// snapshot reads node statuses and reserved capacity for sess's window.
func (sc *Scheduler) snapshot(ctx context.Context, sess store.Session, now time.Time) (Snapshot, error) {
	held, err := sc.store.Reserved(ctx, sess.Start, sess.End)
	if err != nil {
		return Snapshot{}, fmt.Errorf("reserved capacity: %w", err)
	}
	snap := Snapshot{Now: now, Start: sess.Start, End: sess.End}
	for _, st := range sc.nodes(now) {
		snap.Nodes = append(snap.Nodes, NodeView{NodeStatus: st, Reserved: held[st.Name]})
	}
	return snap, nil
}
