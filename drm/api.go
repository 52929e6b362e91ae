package drm

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/igrid/igrid/drm/store"
)

// maxBody bounds every request body.
const maxBody = 1 << 20

// TokenCookie is the cookie the portal may carry the API token in.
const TokenCookie = "igrid_token"

// routes builds the /api/v1 handler: instrumented, panic-safe.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/users", s.handleRegister)
	mux.HandleFunc("POST /api/v1/tokens", s.handleLogin)
	mux.HandleFunc("GET /api/v1/users/me", s.authed(s.handleMe))
	mux.HandleFunc("POST /api/v1/users/me/keys", s.authed(s.handleAddKey))
	mux.HandleFunc("GET /api/v1/sessions", s.authed(s.handleListSessions))
	mux.HandleFunc("POST /api/v1/sessions", s.authed(s.handleCreateSession))
	mux.HandleFunc("GET /api/v1/sessions/{id}", s.authed(s.handleGetSession))
	mux.HandleFunc("DELETE /api/v1/sessions/{id}", s.authed(s.handleEndSession))
	mux.HandleFunc("POST /api/v1/sessions/{id}/extend", s.authed(s.handleExtend))
	mux.HandleFunc("GET /api/v1/profiles", s.authed(s.handleProfiles))
	mux.HandleFunc("GET /api/v1/nodes", s.authed(s.handleNodes))
	mux.HandleFunc("GET /api/v1/policies/classes", s.authed(s.handlePolicyClasses))
	mux.HandleFunc("GET /api/v1/admin/policies", s.authed(s.handlePolicyStatus))
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no route "+r.Method+" "+r.URL.Path)
	})
	return s.instrument(s.recoverer(mux))
}

// apiError is the body of every error answer.
type apiError struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apiError{Error: errorBody{Code: code, Message: msg}})
}

// writeErr maps the DRM's errors to statuses and codes.
func (s *Server) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	var in *InputError
	var pe *PolicyError
	switch {
	case errors.As(err, &in):
		writeError(w, http.StatusBadRequest, "invalid_input", in.Error())
	case errors.As(err, &pe):
		writeError(w, http.StatusForbidden, "policy_denied", pe.Error())
	case errors.Is(err, ErrUserExists):
		writeError(w, http.StatusConflict, "user_exists", err.Error())
	case errors.Is(err, ErrBadCredentials):
		writeError(w, http.StatusUnauthorized, "bad_credentials", err.Error())
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, store.ErrStateChanged), errors.Is(err, store.ErrBadTransition), errors.As(err, new(*conflictError)):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	default:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "internal error; see the DRM log")
	}
}

// decodeBody reads a JSON body strictly into v.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return &InputError{Field: ute.Field, Message: "wrong type: want " + ute.Type.String()}
		}
		msg := err.Error()
		if i := strings.Index(msg, "unknown field "); i >= 0 {
			return &InputError{Field: strings.Trim(msg[i+len("unknown field "):], `"`), Message: "unknown field"}
		}
		return &InputError{Field: "body", Message: "not valid JSON: " + msg}
	}
	return nil
}

type userKey struct{}

// authed wraps h so that it runs only with a valid bearer token (or the
// portal's cookie) and receives the token's user.
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, store.User)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := bearer(r)
		if tok == "" {
			writeError(w, http.StatusUnauthorized, "unauthenticated", "missing token: send Authorization: Bearer <token> (POST /api/v1/tokens issues one)")
			return
		}
		u, err := s.authenticate(r.Context(), tok)
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusUnauthorized, "invalid_token", "the token is unknown or expired; log in again")
			return
		}
		if err != nil {
			s.writeErr(w, r, err)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)), u)
	}
}

// bearer returns the token of the Authorization header or the cookie.
func bearer(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
		return ""
	}
	if c, err := r.Cookie(TokenCookie); err == nil {
		return c.Value
	}
	return ""
}

// recoverer turns a handler panic into a 500 and logs the stack.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic in handler", "method", r.Method, "path", r.URL.Path,
					"panic", p, "stack", string(debug.Stack()))
				writeError(w, http.StatusInternalServerError, "internal", "internal error; see the DRM log")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (sw *statusWriter) WriteHeader(code int) {
	if sw.code == 0 {
		sw.code = code
	}
	sw.ResponseWriter.WriteHeader(code)
}

func (sw *statusWriter) Write(b []byte) (int, error) {
	if sw.code == 0 {
		sw.code = http.StatusOK
	}
	return sw.ResponseWriter.Write(b)
}

// instrument counts requests by the matched route pattern and status.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" || route == "/api/v1/" {
			route = "other"
		}
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		s.met.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
	})
}
