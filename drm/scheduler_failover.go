package drm

import (
	"context"
	"fmt"
	"time"

	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/internal/proto"
)

// Rebook moves booked session s (state starting, its node silent) to the
// best other node that fits its window, leaving out exclude.
func (sc *Scheduler) Rebook(ctx context.Context, s store.Session, exclude []string) (string, error) {
	now := time.Now().UTC()
	snap, err := sc.snapshot(ctx, s, now, exclude)
	if err != nil {
		return "", err
	}
	tr := &Trace{}
	_, ranked := sc.plan(&s.Template, snap, s.Demand(), tr)
	if len(ranked) == 0 {
		return "", &DeniedError{Rejections: rejections(tr)}
	}
	reason := fmt.Sprintf("%s: %s did not answer the start; moved to {node}", ReasonNoAnswer, s.Node)
	return sc.store.Move(ctx, s.ID, s.State, candidates(ranked), sc.Admit, reason)
}

// Replace books a new session for the rest of lost session s's window on
// another node, for the same user, class and template.
func (sc *Scheduler) Replace(ctx context.Context, s store.Session, now time.Time) (store.Session, error) {
	rest := s.End.Sub(now)
	if rest <= 0 {
		return store.Session{}, fmt.Errorf("session %s has no time left", s.ID)
	}
	tpl := s.Template
	tpl.Start, tpl.UsageTime = "", proto.Duration(rest.Round(time.Second))
	repl := store.Session{
		Session: proto.Session{ID: newSessionID(), User: s.User, Class: s.Class, State: proto.StateRequested,
			Start: now, End: now.Add(tpl.UsageTime.D()), Template: tpl,
			Reason: fmt.Sprintf("%s %s, lost on %s", ReasonReplacement, s.ID, s.Node)},
		Created: now, Updated: now,
	}
	exclude := []string{s.Node}
	if tpl.Node != "" { // the user's pick is gone: any node will do
		repl.Template.Node = ""
	}
	// A replacement is booked whatever the class's quotas say: it takes
	// the place of a session they already admitted.
	return sc.schedule(ctx, repl, now, exclude, false)
}
