package drm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/internal/proto"
)

// ReasonQueued starts the reason of a session queued to a later start.
const ReasonQueued = "queued"

// queue is the path taken when no node has room in the asked window but
// some match: store.BookEarliest finds, in one transaction over the
// matching nodes' books, the earliest start at which the whole window
// fits (within the class's booking horizon) and books it, in state queued.
// The dispatcher starts it then unless it is cancelled.
func (sc *Scheduler) queue(ctx context.Context, sess store.Session, matched []NodeView, q store.Quota, now time.Time, tr *Trace) (store.Session, error) {
	horizon := sc.Horizon
	if q.BookingHorizon > 0 {
		horizon = q.BookingHorizon
	}
	last := now.Add(horizon)
	cands := make([]store.Candidate, len(matched))
	for i, n := range matched {
		cands[i] = store.Candidate{Node: n.Name, Capacity: n.Capacity()}
	}
	asked := sess.Start
	prepare := func(s *store.Session, refused []store.Rejection) {
		for _, r := range refused {
			nt := tr.node(r.Node)
			if nt.Verdict != VerdictRejected {
				nt.Verdict, nt.Stage = VerdictRejected, "queue"
			}
			nt.Reason = joinReason(nt.Reason, r.Reason)
		}
		nt := tr.node(s.Node)
		at := s.Start
		nt.Verdict, nt.EarliestStart = VerdictChosen, &at
		tr.Outcome, tr.Node, tr.Start, tr.End = string(s.State), s.Node, s.Start, s.End
		if s.State == proto.StateQueued {
			tr.QueuedFrom = &asked
			s.Reason = fmt.Sprintf("%s: nothing fits at %s; earliest start the book allows is %s on %s",
				ReasonQueued, asked.Format(time.RFC3339), s.Start.Format(time.RFC3339), s.Node)
		}
		s.Trace = tr.encode()
	}
	out, err := sc.store.BookEarliest(ctx, store.BookRequest{Session: sess, Candidates: cands, Admit: sc.Admit,
		Quota: q, Now: now, Prepare: prepare}, last)
	var qe *store.QuotaError
	var re *store.ReserveError
	switch {
	case errors.As(err, &qe):
		return sess, &QuotaDeniedError{Err: qe, trace: tr}
	case errors.As(err, &re):
		for _, r := range re.Rejections {
			nt := tr.node(r.Node)
			nt.Reason = joinReason(nt.Reason, r.Reason)
		}
		return sess, err
	case err != nil:
		return sess, fmt.Errorf("book earliest: %w", err)
	}
	return out, nil
}

func joinReason(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
