package netbpf

import "errors"

// ErrUnavailable means the kernel would not load or attach the programs
// (no CONFIG_CGROUP_BPF, no privilege, or no cgroup-v2 directory).
var ErrUnavailable = errors.New("netbpf: cgroup BPF accounting unavailable")

// ErrClosed means the Counter was closed.
var ErrClosed = errors.New("netbpf: counter closed")
