package accounts

import "errors"

// ErrNoPool: the class has no account pool on this node (EnsurePool was
// never called for it).
var ErrNoPool = errors.New("no account pool for the class")

// ErrPoolExhausted: every account of the class's pool is bound or quarantined.
var ErrPoolExhausted = errors.New("account pool exhausted")

// ErrNotIgrid: an account with a pool name already exists but was not made
// by igrid (its comment is not ours); igrid will not take it over.
var ErrNotIgrid = errors.New("account exists and is not an igrid dynamic account")

// ErrBadName: a pool prefix, tag or size would give invalid account names.
var ErrBadName = errors.New("invalid account pool name")

// ErrCleanup: an account could not be cleaned after its session; it is
// quarantined and never handed out again.
var ErrCleanup = errors.New("account cleanup failed")

// reasonError carries a human reason while matching a sentinel with errors.Is.
type reasonError struct {
	sentinel error
	msg      string
}

func (e *reasonError) Error() string { return e.msg }
func (e *reasonError) Unwrap() error { return e.sentinel }

func reason(sentinel error, msg string) error { return &reasonError{sentinel: sentinel, msg: msg} }

// ErrBadSession: a session id that cannot name a lease file.
var ErrBadSession = errors.New("invalid session id")

// ErrBadKind: a pool kind or its sudo commands are invalid.
var ErrBadKind = errors.New("invalid account pool kind")

func joinErrs(errs []error) error { return errors.Join(errs...) }
