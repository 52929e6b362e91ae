package drm

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/internal/proto"
)

// Data affinity: a frequent user goes back to the node of their previous
// session (files cached, dynamic account maybe still reserved); a user who
// usually comes at certain hours is steered to nodes free at those hours.

// usualMin is how many past starts in one hour of the day make it usual;
// usualTopK is how many of the best candidates get the usual-hours
// component, which needs their bookings.
const (
	usualMin   = 2
	usualTopK  = 8
	historyLen = 50 // past sessions read per request
)

// history is the user's past sessions for affinity, from the cache
// (history_cache.go) or read.
func (sc *Scheduler) history(ctx context.Context, sess store.Session) (UserHistory, error) {
	at := time.Now()
	if u, ok := sc.hist.get(sess.User, at); ok {
		return u, nil
	}
	u, err := sc.readHistory(ctx, sess.User)
	if err == nil {
		sc.hist.put(u, at)
	}
	return u, err
}

// readHistory reads the user's past sessions for affinity.
func (sc *Scheduler) readHistory(ctx context.Context, user string) (UserHistory, error) {
	u := UserHistory{Name: user}
	past, err := sc.store.Sessions(ctx, store.SessionFilter{User: user, States: []proto.State{
		proto.StateRunning, proto.StateEnding, proto.StateEnded, proto.StateLost}, Latest: historyLen})
	if err != nil {
		return u, err
	}
	var latest time.Time
	count := map[int]int{}
	for _, s := range past {
		if s.Account != "" && s.Start.After(latest) { // it ran: it had an account
			latest, u.PreviousNode = s.Start, s.Node
		}
		count[s.Start.UTC().Hour()]++
	}
	for h, n := range count {
		if n >= usualMin {
			u.UsualHours = append(u.UsualHours, h)
		}
	}
	slices.Sort(u.UsualHours)
	return u, nil
}

// refineHours adds the usual-hours component to the best usualTopK
// candidates and re-sorts them: a node scores the fraction of the user's
// usual hours, in the day after the window, at which it has room for the
// same demand.
func (sc *Scheduler) refineHours(ctx context.Context, ranked []Scored, u UserHistory, sess store.Session, tr *Trace) ([]Scored, error) {
	if len(u.UsualHours) == 0 || len(ranked) == 0 || sc.Rank.Weights.UsualHours == 0 {
		return ranked, nil
	}
	k := min(usualTopK, len(ranked))
	top := make([]string, k)
	for i := range k {
		top[i] = ranked[i].Name
	}
	from, to := sess.End, sess.End.Add(25*time.Hour)
	bs, err := sc.store.Bookings(ctx, from, to, top...)
	if err != nil {
		return nil, err
	}
	byNode := map[string][]store.Booking{}
	for _, b := range bs {
		byNode[b.Node] = append(byNode[b.Node], b)
	}
	demand := sess.Demand()
	for i := range k {
		s := &ranked[i]
		c := store.Candidate{Node: s.Name, Capacity: s.Capacity()}
		free := 0
		for _, h := range u.UsualHours {
			at := nextHour(from, h)
			if sc.Admit.Admit(c, store.Peak(byNode[s.Name], at, at.Add(time.Hour)), demand) == "" {
				free++
			}
		}
		v := float64(free) / float64(len(u.UsualHours))
		s.Components[ScoreUsualHours] = v
		s.Score += sc.Rank.Weights.UsualHours * v
	}
	slices.SortStableFunc(ranked[:k], func(a, b Scored) int { return cmp.Compare(b.Score, a.Score) })
	for i := range k {
		nt := tr.node(ranked[i].Name)
		nt.Rank, nt.Score, nt.Components = i+1, ranked[i].Score, ranked[i].Components
	}
	return ranked, nil
}

// nextHour is the first whole hour h (UTC) at or after t.
func nextHour(t time.Time, h int) time.Time {
	d := t.UTC().Truncate(time.Hour)
	if d.Before(t) {
		d = d.Add(time.Hour)
	}
	for d.Hour() != h {
		d = d.Add(time.Hour)
	}
	return d
}
