package gss

import "errors"

// ErrNotFound: the object, manifest or file does not exist.
var ErrNotFound = errors.New("not found")

// ErrExists: a create-only Put found the key taken (another writer won).
var ErrExists = errors.New("already exists")

// ErrQuota: a save or upload would exceed the user's disk quota (the SLA's
// home quota or the GSS per-user quota); nothing was written.
var ErrQuota = errors.New("disk quota exceeded")

// ErrBadName: a user name, key or path that cannot be stored safely.
var ErrBadName = errors.New("invalid name")

// ErrUnsafe: restore met something it must not follow or overwrite (a
// symlink planted where a directory or file goes).
var ErrUnsafe = errors.New("unsafe path in the restore target")

type reasonError struct {
	sentinel error
	msg      string
}

func (e *reasonError) Error() string { return e.msg }
func (e *reasonError) Unwrap() error { return e.sentinel }

func reason(sentinel error, msg string) error { return &reasonError{sentinel: sentinel, msg: msg} }
