package store

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrNotFound means the user, token, node or session does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists means a row with that key is already stored.
	ErrExists = errors.New("already exists")
	// ErrBadTransition means the session state machine forbids the change.
	ErrBadTransition = errors.New("transition not allowed")
	// ErrStateChanged means the session was no longer in the expected state:
	// another writer moved it first, so this change was not applied.
	ErrStateChanged = errors.New("session state changed concurrently")
	// ErrNoCapacity is wrapped by *ReserveError: no candidate node had room.
	ErrNoCapacity = errors.New("no node fits")
)

// Rejection is why one candidate node could not take a session.
type Rejection struct {
	Node   string `json:"node"`
	Reason string `json:"reason"`
}

func (r Rejection) String() string { return r.Node + ": " + r.Reason }

// ReserveError is returned by Reserve when no candidate fits. It lists the
// reason of every candidate, in the order tried.
type ReserveError struct {
	Rejections []Rejection
}

func (e *ReserveError) Error() string {
	if len(e.Rejections) == 0 {
		return ErrNoCapacity.Error() + ": no candidate node"
	}
	parts := make([]string, len(e.Rejections))
	for i, r := range e.Rejections {
		parts[i] = r.String()
	}
	return ErrNoCapacity.Error() + ": " + strings.Join(parts, "; ")
}

// Unwrap lets callers test errors.Is(err, ErrNoCapacity).
func (e *ReserveError) Unwrap() error { return ErrNoCapacity }

// TransitionError says which change of a session was refused and why.
type TransitionError struct {
	ID       string
	From, To string
	Current  string // the state found, when it differed from From
	Err      error  // ErrBadTransition or ErrStateChanged
}

func (e *TransitionError) Error() string {
	if e.Current != "" {
		return fmt.Sprintf("session %s: %s → %s: %v (it is %s)", e.ID, e.From, e.To, e.Err, e.Current)
	}
	return fmt.Sprintf("session %s: %s → %s: %v", e.ID, e.From, e.To, e.Err)
}

// Unwrap returns ErrBadTransition or ErrStateChanged.
func (e *TransitionError) Unwrap() error { return e.Err }
