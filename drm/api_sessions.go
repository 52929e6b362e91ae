package drm

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/internal/proto"
)

// deniedResponse answers a request no node can take: the error beside the
// session recorded as denied.
type deniedResponse struct {
	Error   errorBody     `json:"error"`
	Session proto.Session `json:"session"`
}

func (s *Server) handleListSessions(w http.ResponseWriter, r *http.Request, u store.User) {
	f := store.SessionFilter{User: u.Name}
	if u.Admin {
		f.User = ""
	}
	list, err := s.store.Sessions(r.Context(), f)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	out := make([]proto.Session, len(list))
	for i, x := range list {
		out[i] = x.Session
	}
	writeJSON(w, http.StatusOK, out)
}

// handleCreateSession: decode → class policy → schedule. Bad templates and
// policy denials write nothing.
func (s *Server) handleCreateSession(w http.ResponseWriter, r *http.Request, u store.User) {
	tpl, err := proto.DecodeTemplate(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var fe *proto.FieldError
		if errors.As(err, &fe) {
			writeError(w, http.StatusBadRequest, "invalid_template", fe.Error())
			return
		}
		writeError(w, http.StatusBadRequest, "invalid_template", "body: "+err.Error())
		return
	}
	if err := s.checkClass(u, &tpl); err != nil {
		s.writeErr(w, r, err)
		return
	}
	now := time.Now().UTC()
	start := tpl.StartTime(now).UTC()
	sess := store.Session{
		Session: proto.Session{ID: newSessionID(), User: u.Name, Class: u.Class, State: proto.StateRequested,
			Start: start, End: start.Add(tpl.UsageTime.D()), Template: tpl},
		Cores: tpl.CoresDemand(), MemoryMB: tpl.MemoryMB, Created: now, Updated: now,
	}
	sess, err = s.sched.Schedule(r.Context(), sess, now)
	var denied *DeniedError
	var quota *QuotaDeniedError
	switch {
	case errors.As(err, &denied):
		s.log.Info("session denied", "session", sess.ID, "user", u.Name, "reason", sess.Reason)
		writeJSON(w, http.StatusConflict, deniedResponse{
			Error: errorBody{Code: "denied", Message: denied.Error()}, Session: sess.Session})
	case errors.As(err, &quota):
		s.log.Info("session denied by quota", "session", sess.ID, "user", u.Name, "reason", sess.Reason)
		writeJSON(w, http.StatusForbidden, deniedResponse{
			Error: errorBody{Code: "quota_exceeded", Message: quota.Error()}, Session: sess.Session})
	case err != nil:
		s.writeErr(w, r, err)
	case sess.State == proto.StateQueued:
		s.log.Info("session queued", "session", sess.ID, "user", u.Name, "node", sess.Node,
			"start", sess.Start, "end", sess.End)
		writeJSON(w, http.StatusAccepted, sess.Session)
	default:
		s.log.Info("session scheduled", "session", sess.ID, "user", u.Name, "node", sess.Node,
			"start", sess.Start, "end", sess.End)
		writeJSON(w, http.StatusCreated, sess.Session)
		if !sess.Start.After(now) {
			s.kickDispatcher()
		}
	}
}

// kickDispatcher makes the dispatcher look at the book now.
func (s *Server) kickDispatcher() {
	s.mu.Lock()
	disp := s.disp
	s.mu.Unlock()
	if disp != nil {
		disp.Kick()
	}
}

// checkClass applies the user's class's session policy to a template.
func (s *Server) checkClass(u store.User, tpl *proto.Template) error {
	c, ok := s.pol.Current().Class(u.Class)
	if !ok {
		return &PolicyError{Class: u.Class, Message: fmt.Sprintf("class %q of user %s is not in the policy set", u.Class, u.Name)}
	}
	if limit := c.Session.MaxUsageTime; limit > 0 && tpl.UsageTime > limit {
		return &PolicyError{Class: c.Name, Message: fmt.Sprintf(
			"class %s allows sessions of at most %s (session.max_usage_time); usage_time asks for %s",
			c.Name, limit, tpl.UsageTime)}
	}
	return nil
}

// ownSession loads a session the user may see: their own, or any for an
// administrator. Others' sessions are "not found".
func (s *Server) ownSession(r *http.Request, u store.User) (store.Session, error) {
	id := r.PathValue("id")
	sess, err := s.store.Session(r.Context(), id)
	if err != nil {
		return sess, err
	}
	if sess.User != u.Name && !u.Admin {
		return store.Session{}, fmt.Errorf("session %s: %w", id, store.ErrNotFound)
	}
	return sess, nil
}

// explained is a session with its decision trace (?explain=1).
type explained struct {
	proto.Session
	Explain json.RawMessage `json:"explain"`
}

func (s *Server) handleGetSession(w http.ResponseWriter, r *http.Request, u store.User) {
	sess, err := s.ownSession(r, u)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	switch r.URL.Query().Get("explain") {
	case "", "0", "false":
		writeJSON(w, http.StatusOK, sess.Session)
	case "1", "true":
		trace := json.RawMessage(sess.Trace)
		if len(trace) == 0 {
			trace = json.RawMessage("null")
		}
		writeJSON(w, http.StatusOK, explained{Session: sess.Session, Explain: trace})
	default:
		writeError(w, http.StatusBadRequest, "invalid_input", "explain: want 1 or 0")
	}
}

// handleEndSession ends a session early: scheduled → ended at once;
// starting/running → ending, then the node ends it → ended.
func (s *Server) handleEndSession(w http.ResponseWriter, r *http.Request, u store.User) {
	sess, err := s.ownSession(r, u)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	s.mu.Lock()
	disp := s.disp
	s.mu.Unlock()
	if disp == nil {
		writeError(w, http.StatusServiceUnavailable, "not_started", "the DRM dispatcher is not running")
		return
	}
	for attempt := 0; attempt < 3; attempt++ {
		sess, err = s.endOnce(r, disp, sess, u)
		if !errors.Is(err, store.ErrStateChanged) {
			break
		}
		if sess, err = s.store.Session(r.Context(), sess.ID); err != nil {
			break
		}
	}
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sess.Session)
}

// endOnce applies one step of an early end from sess's current state.
func (s *Server) endOnce(r *http.Request, disp *Dispatcher, sess store.Session, u store.User) (store.Session, error) {
	ctx := r.Context()
	s.log.Info("end requested", "session", sess.ID, "by", u.Name, "state", sess.State)
	switch sess.State {
	case proto.StateScheduled, proto.StateQueued:
		return s.store.Transition(ctx, sess.ID, sess.State,
			store.Change{To: proto.StateEnded, Reason: ReasonCancelled})
	case proto.StateStarting:
		// The start round trip in flight sees the change and the next
		// tick sends the end.
		return s.store.Transition(ctx, sess.ID, proto.StateStarting,
			store.Change{To: proto.StateEnding, Reason: ReasonEndedByUser})
	case proto.StateRunning:
		// EndNow takes the session's dispatch slot before it moves it to
		// ending, so no tick can send a second end meanwhile.
		if !disp.EndNow(sess, ReasonEndedByUser) {
			return sess, store.ErrStateChanged // busy: look again
		}
		return s.store.Session(ctx, sess.ID)
	case proto.StateEnding:
		disp.EndNow(sess, sess.Reason)
		return s.store.Session(ctx, sess.ID)
	default:
		return sess, &conflictError{msg: fmt.Sprintf("session %s is already %s", sess.ID, sess.State)}
	}
}

// conflictError is a request that does not fit the session's state.
type conflictError struct{ msg string }

func (e *conflictError) Error() string { return e.msg }
