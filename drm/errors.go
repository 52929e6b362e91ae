package drm

import (
	"errors"
	"strings"

	"github.com/igrid/igrid/drm/store"
)

var (
	// ErrConfig means the Config cannot make a working server.
	ErrConfig = errors.New("drm config")
	// ErrUnknownClass means a class is not in the policy set.
	ErrUnknownClass = errors.New("unknown class")
	// ErrUserExists means the user name is taken.
	ErrUserExists = errors.New("user already exists")
	// ErrBadCredentials means the user name or password is wrong.
	ErrBadCredentials = errors.New("wrong user name or password")
	// ErrNotStarted means a method needs Start first.
	ErrNotStarted = errors.New("drm not started")
)

// InputError is a bad request field; the API answers it with 400.
type InputError struct {
	Field   string
	Message string
}

func (e *InputError) Error() string { return e.Field + ": " + e.Message }

// PolicyError is a request the user's class forbids; the API answers 403
// with code "policy_denied".
type PolicyError struct {
	Class   string
	Message string
}

func (e *PolicyError) Error() string { return e.Message }

// DeniedError says no node can take a session, with every node's reason.
// The session is recorded in state denied with Error() as its reason.
type DeniedError struct {
	Rejections []store.Rejection
}

func (e *DeniedError) Error() string {
	if len(e.Rejections) == 0 {
		return "no node fits: no node is registered"
	}
	parts := make([]string, len(e.Rejections))
	for i, r := range e.Rejections {
		parts[i] = r.String()
	}
	return "no node fits: " + strings.Join(parts, "; ")
}

// QuotaDeniedError is a booking a class or user quota refused; the API
// answers it with 403 "quota_exceeded" and the session is recorded denied.
type QuotaDeniedError struct {
	Err   *store.QuotaError
	trace *Trace
}

func (e *QuotaDeniedError) Error() string { return e.Err.Error() }

// Unwrap returns the store's *QuotaError.
func (e *QuotaDeniedError) Unwrap() error { return e.Err }
