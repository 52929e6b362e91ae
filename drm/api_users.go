package drm

import (
	"errors"
	"net/http"
	"time"

	"github.com/igrid/igrid/drm/store"
)

// registerRequest is the body of POST /users.
type registerRequest struct {
	Name     string   `json:"name"`
	Password string   `json:"password"`
	Class    string   `json:"class,omitempty"`
	Admin    bool     `json:"admin,omitempty"`
	SSHKeys  []string `json:"ssh_keys,omitempty"`
}

// loginRequest is the body of POST /tokens.
type loginRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// tokenResponse answers POST /tokens.
type tokenResponse struct {
	Token   string    `json:"token"`
	User    string    `json:"user"`
	Expires time.Time `json:"expires"`
}

// handleRegister: anyone may register into the default class; only an
// administrator's token may choose the class or make an administrator.
func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	var req registerRequest
	if err := decodeBody(r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	isAdmin := false
	if tok := bearer(r); tok != "" {
		u, err := s.authenticate(r.Context(), tok)
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusUnauthorized, "invalid_token", "the token is unknown or expired; log in again or register without one")
			return
		} else if err != nil {
			s.writeErr(w, r, err)
			return
		}
		isAdmin = u.Admin
	}
	if !isAdmin && (req.Admin || (req.Class != "" && req.Class != s.cfg.DefaultClass)) {
		writeError(w, http.StatusForbidden, "forbidden",
			"only an administrator may set class or admin; self-registered users join class "+s.cfg.DefaultClass)
		return
	}
	if err := s.CreateUser(r.Context(), req.Name, req.Password, req.Class, req.Admin, req.SSHKeys); err != nil {
		s.writeErr(w, r, err)
		return
	}
	u, err := s.store.User(r.Context(), req.Name)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	s.log.Info("user registered", "user", u.Name, "class", u.Class, "admin", u.Admin)
	writeJSON(w, http.StatusCreated, u)
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := decodeBody(r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	tok, exp, err := s.login(r.Context(), req.Name, req.Password)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, tokenResponse{Token: tok, User: req.Name, Expires: exp})
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request, u store.User) {
	writeJSON(w, http.StatusOK, u)
}

// handleAddKey: POST /users/me/keys {"key": "ssh-ed25519 AAAA… comment"}.
func (s *Server) handleAddKey(w http.ResponseWriter, r *http.Request, u store.User) {
	var req struct {
		Key string `json:"key"`
	}
	if err := decodeBody(r, &req); err != nil {
		s.writeErr(w, r, err)
		return
	}
	line, err := normalizeKey(req.Key)
	if err != nil {
		s.writeErr(w, r, &InputError{Field: "key", Message: err.Error()})
		return
	}
	if err := s.store.AddSSHKey(r.Context(), u.Name, line); err != nil {
		s.writeErr(w, r, err)
		return
	}
	u, err = s.store.User(r.Context(), u.Name)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, u)
}

func (s *Server) handleNodes(w http.ResponseWriter, r *http.Request, _ store.User) {
	writeJSON(w, http.StatusOK, s.reg.Statuses(time.Now().UTC()))
}
