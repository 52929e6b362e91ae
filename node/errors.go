package node

import "errors"

// ErrUnknownClass: a StartSession names a class the node's policy set lacks.
var ErrUnknownClass = errors.New("unknown class")

// ErrBadCommand: a command is malformed (unknown op, missing fields, a bad
// window or key). Nothing is changed.
var ErrBadCommand = errors.New("bad command")

// ErrNoSession: no session of the user is bound to this node.
var ErrNoSession = errors.New("no session for the user")

// ErrNotYet: the user's session has not started yet.
var ErrNotYet = errors.New("session has not started")

// ErrEnded: the user's session is over.
var ErrEnded = errors.New("session has ended")

// ErrNotStarted: the agent was asked to work before Start succeeded.
var ErrNotStarted = errors.New("node agent not started")

// reasonError carries a human reason while matching a sentinel with errors.Is.
type reasonError struct {
	sentinel error
	msg      string
}

func (e *reasonError) Error() string { return e.msg }
func (e *reasonError) Unwrap() error { return e.sentinel }

func reason(sentinel error, msg string) error { return &reasonError{sentinel: sentinel, msg: msg} }
