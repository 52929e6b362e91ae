package cgroup

import "errors"

var (
	// ErrBadName is returned for a group name that is empty, too long or not
	// one path element of [A-Za-z0-9._-].
	ErrBadName = errors.New("cgroup: bad group name")
	// ErrUnavailable is returned when no usable cgroup hierarchy is mounted.
	ErrUnavailable = errors.New("cgroup: no cgroup hierarchy mounted")
	// ErrNotRoot is returned when the caller lacks the privilege to create groups.
	ErrNotRoot = errors.New("cgroup: creating groups needs root")
	// ErrBadLimit is returned for a negative or out-of-range limit.
	ErrBadLimit = errors.New("cgroup: bad limit")
	// ErrStillBusy is returned when processes survive a kill until the deadline.
	ErrStillBusy = errors.New("cgroup: processes survived the kill")
)
