package sensor

import "errors"

var (
	// ErrNoTarget is returned when a session target names neither a cgroup nor pids.
	ErrNoTarget = errors.New("sensor: target has no cgroup and no pids")
	// ErrDuplicate is returned when two sensors register the same name.
	ErrDuplicate = errors.New("sensor: duplicate sensor name")
)
