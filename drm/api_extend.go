package drm

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/internal/proto"
)

// ExtendRequest is the body of POST /sessions/{id}/extend: how much longer
// the session should last.
type ExtendRequest struct {
	By proto.Duration `json:"by"`
}

// handleExtend lengthens a booked or running session when its node's book
// has room after the current end and the class's maximum usage time
// allows: 200 with the session, 409 "extend_refused" naming what is in the
// way, 403 "quota_exceeded" past the class's limit.
func (s *Server) handleExtend(w http.ResponseWriter, r *http.Request, u store.User) {
	sess, err := s.ownSession(r, u)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	var req ExtendRequest
	if err := decodeBody(r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	if req.By <= 0 {
		s.writeErr(w, r, &InputError{Field: "by", Message: "must be a positive duration such as \"30m\""})
		return
	}
	node := s.nodeCandidate(sess.Node)
	out, err := s.store.Extend(r.Context(), sess.ID, sess.End.Add(req.By.D()), node, s.sched.Admit, s.quotaFor(sess.Class))
	var qe *store.QuotaError
	switch {
	case errors.As(err, &qe):
		writeError(w, http.StatusForbidden, "quota_exceeded", qe.Error())
	case errors.Is(err, store.ErrNoCapacity), errors.Is(err, store.ErrNotExtendable):
		writeError(w, http.StatusConflict, "extend_refused", err.Error())
	case err != nil:
		s.writeErr(w, r, err)
	default:
		s.log.Info("session extended", "session", out.ID, "by", req.By, "end", out.End)
		writeJSON(w, http.StatusOK, out.Session)
	}
}

// nodeCandidate is node's capacity as the registry last saw it.
func (s *Server) nodeCandidate(node string) store.Candidate {
	for _, st := range s.reg.Statuses(time.Now().UTC()) {
		if st.Name == node {
			nv := NodeView{NodeStatus: &st}
			return store.Candidate{Node: node, Capacity: nv.Capacity()}
		}
	}
	return store.Candidate{Node: node}
}

func (s *Server) handleProfiles(w http.ResponseWriter, r *http.Request, _ store.User) {
	list, err := s.store.Profiles(r.Context())
	if err != nil {
		s.writeErr(w, r, fmt.Errorf("profiles: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, list)
}
