package node

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/igrid/igrid/gish"
	"github.com/igrid/igrid/internal/proto"
)

// session is one global session the node runs.
type session struct {
	binding *gish.Binding
	reply   proto.CommandReply
	timers  []*time.Timer // end warning and local end
}

// endedSession remembers a user's last ended session, so a late login is
// told why it is refused.
type endedSession struct {
	id string
	at time.Time
}

var _ gish.Authorizer = (*Agent)(nil)

// Lookup implements gish.Authorizer: it returns the binding of the session
// user may enter at now, or an error that says why not.
func (a *Agent) Lookup(user string, now time.Time) (*gish.Binding, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var next, over *gish.Binding
	for _, s := range a.sessions {
		b := s.binding
		switch {
		case b.User != user:
		case now.Before(b.Start):
			if next == nil || b.Start.Before(next.Start) {
				next = b
			}
		case now.Before(b.End):
			cp := *b
			return &cp, nil
		default:
			over = b
		}
	}
	switch {
	case next != nil:
		return nil, reason(ErrNotYet, fmt.Sprintf("session %s starts at %s", next.SessionID, next.Start.UTC().Format(time.RFC3339)))
	case over != nil:
		return nil, reason(ErrEnded, fmt.Sprintf("session %s ended at %s", over.SessionID, over.End.UTC().Format(time.RFC3339)))
	}
	if e, ok := a.ended[user]; ok {
		return nil, reason(ErrEnded, fmt.Sprintf("session %s ended at %s", e.id, e.at.UTC().Format(time.RFC3339)))
	}
	return nil, reason(ErrNoSession, fmt.Sprintf("no session for user %s on node %s", user, a.cfg.Name))
}

// sessionIDs lists the running sessions, sorted.
func (a *Agent) sessionIDs() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	ids := make([]string, 0, len(a.sessions))
	for id := range a.sessions {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func (a *Agent) getSession(id string) *session {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sessions[id]
}

// addSession records a session and schedules its end warning (for windows
// of at least MinWarnWindow) and its local end: the node ends the session
// itself at End even if the DRM never asks.
func (a *Agent) addSession(s *session) {
	b := s.binding
	id := b.SessionID
	b.Vars = a.restoredVars(id)
	if b.End.Sub(b.Start) >= MinWarnWindow {
		if d := time.Until(b.End.Add(-WarnBefore)); d > 0 {
			s.timers = append(s.timers, time.AfterFunc(d, func() {
				a.log.Info("session end warning", "session", id)
				a.ssh.Warn(id, fmt.Sprintf("session ends in %s", WarnBefore))
			}))
		}
	}
	s.timers = append(s.timers, time.AfterFunc(time.Until(b.End), func() {
		a.track(func() {
			if err := a.endSession(id, "usage time is over"); err != nil {
				a.log.Error("local session end", "session", id, "err", err)
			}
		})
	}))
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sessions[id] = s
}

// dropSession removes a session from the table (so no new login enters it)
// and stops its timers. It returns the removed session, nil if unknown.
func (a *Agent) dropSession(id string, at time.Time) *session {
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sessions[id]
	if !ok {
		return nil
	}
	delete(a.sessions, id)
	a.ended[s.binding.User] = endedSession{id: id, at: at}
	for _, t := range s.timers {
		t.Stop()
	}
	return s
}

// track runs f in this goroutine unless the agent is shutting down, and
// lets Shutdown wait for it.
func (a *Agent) track(f func()) {
	a.mu.Lock()
	if a.closing {
		a.mu.Unlock()
		return
	}
	a.wg.Add(1)
	a.mu.Unlock()
	defer a.wg.Done()
	f()
}

// keyedMutex serializes work on one key (a session id) without blocking
// other keys.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyEntry
}

type keyEntry struct {
	mu   sync.Mutex
	refs int
}

// lock locks key and returns its unlock function.
func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyEntry{}
	}
	e, ok := k.m[key]
	if !ok {
		e = &keyEntry{}
		k.m[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}
