package drm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/internal/proto"
)

// queueTries bounds how many nodes the queueing path books at in turn when
// others take the window it found first.
const queueTries = 5

// ReasonQueued starts the reason of a session queued to a later start.
const ReasonQueued = "queued"

// queue is the path taken when no node has room in the asked window but
// some match: it finds each matching node's earliest start at which the
// whole window fits (store.EarliestFit over the node's bookings, within
// the class's booking horizon) and books the earliest, in state queued.
// The dispatcher starts it then unless it is cancelled.
func (sc *Scheduler) queue(ctx context.Context, sess store.Session, matched []NodeView, q store.Quota, now time.Time, tr *Trace) (store.Session, error) {
	horizon := sc.Horizon
	if q.BookingHorizon > 0 {
		horizon = q.BookingHorizon
	}
	d := sess.End.Sub(sess.Start)
	last := now.Add(horizon)
	bookings, err := sc.store.Bookings(ctx, sess.Start, last.Add(d), names(matched)...)
	if err != nil {
		return sess, fmt.Errorf("bookings: %w", err)
	}
	byNode := map[string][]store.Booking{}
	for _, b := range bookings {
		byNode[b.Node] = append(byNode[b.Node], b)
	}
	type slot struct {
		n  NodeView
		at time.Time
	}
	var slots []slot
	demand := sess.Demand()
	for _, n := range matched {
		c := store.Candidate{Node: n.Name, Capacity: n.Capacity()}
		at, ok := store.EarliestFit(byNode[n.Name], sess.Start, last, d, func(peak store.Capacity) bool {
			return sc.Admit.Admit(c, peak, demand) == ""
		})
		if !ok {
			tr.node(n.Name).Reason += fmt.Sprintf("; no window of %s before %s", d, last.Format(time.RFC3339))
			continue
		}
		tr.node(n.Name).EarliestStart = &at
		slots = append(slots, slot{n, at})
	}
	slices.SortStableFunc(slots, func(a, b slot) int { return a.at.Compare(b.at) })
	asked := sess.Start
	for i, s := range slots {
		if i == queueTries {
			break
		}
		try := sess
		try.Start, try.End = s.at, s.at.Add(d)
		try.Template.Start = s.at.Format(time.RFC3339)
		try.State = proto.StateQueued
		try.Reason = fmt.Sprintf("%s: nothing fits at %s; earliest start the book allows is %s on %s",
			ReasonQueued, asked.Format(time.RFC3339), s.at.Format(time.RFC3339), s.n.Name)
		if !s.at.After(asked) { // the snapshot was stale: it fits as asked
			try.State, try.Reason = proto.StateScheduled, ""
		}
		tr.Outcome, tr.Start, tr.End, tr.QueuedFrom = string(try.State), try.Start, try.End, &asked
		node, err := sc.bookTraced(ctx, &try, []store.Candidate{{Node: s.n.Name, Capacity: s.n.Capacity()}}, q, now, tr)
		if err == nil {
			try.Node = node
			return try, nil
		}
		if !errors.Is(err, store.ErrNoCapacity) {
			return sess, err
		}
	}
	tr.Start, tr.End, tr.QueuedFrom = sess.Start, sess.End, nil
	return sess, &store.ReserveError{}
}

func names(ns []NodeView) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Name
	}
	return out
}
