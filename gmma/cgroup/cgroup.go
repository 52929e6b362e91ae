package cgroup

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/cgroups/v3"
)

// Limits are the kernel-held parts of an SLA. Zero means "no limit".
type Limits struct {
	MemoryBytes int64 // memory.limit_in_bytes (v1) / memory.max (v2)
	MaxProcs    int64 // pids.max
	CPUPercent  int   // CPU quota in percent of one core (150 = 1.5 cores)
}

// Validate names the first bad limit.
func (l Limits) Validate() error {
	switch {
	case l.MemoryBytes < 0:
		return fmt.Errorf("%w: memory %d bytes is negative", ErrBadLimit, l.MemoryBytes)
	case l.MaxProcs < 0:
		return fmt.Errorf("%w: max processes %d is negative", ErrBadLimit, l.MaxProcs)
	case l.CPUPercent < 0 || l.CPUPercent > 100*4096:
		return fmt.Errorf("%w: CPU %d%% is out of range [0, 409600]", ErrBadLimit, l.CPUPercent)
	}
	return nil
}

// cpuPeriodUS is the CFS period both versions use for the quota.
const cpuPeriodUS = 100000

func (l Limits) cpuQuotaUS() int64 { return int64(l.CPUPercent) * cpuPeriodUS / 100 }

// Usage is what the kernel accounts for the whole group.
type Usage struct {
	CPUNanos        uint64 `json:"cpu_nanos"`         // CPU time used by every process ever in the group
	MemoryBytes     uint64 `json:"memory_bytes"`      // current memory charge
	MemoryPeakBytes uint64 `json:"memory_peak_bytes"` // high-water mark (0 when the kernel keeps none)
	MemoryFailCount uint64 `json:"memory_fail_count"` // times the memory limit was hit
	OOMKills        uint64 `json:"oom_kills"`         // processes the kernel's OOM killer took
	Pids            uint64 `json:"pids"`              // tasks now in the group (pids.current)
	PidsLimitHits   uint64 `json:"pids_limit_hits"`   // forks refused at pids.max
}

// Group is one session's control group.
type Group interface {
	// Name is the session name the group was created for.
	Name() string
	// Version is 1 or 2.
	Version() int
	// ProcsFiles are the cgroup.procs files a process writes "0" to to join.
	ProcsFiles() []string
	// Dir is the group's directory (v2) or its directory in the pids hierarchy (v1).
	Dir() string
	// Add moves process pid (all its threads) into the group.
	Add(pid int) error
	// Pids lists the processes now in the group, sorted.
	Pids() ([]int, error)
	// Usage reads the kernel's totals for the group.
	Usage() (Usage, error)
	// Update replaces the kernel limits.
	Update(Limits) error
	// Unenforced names the limits the kernel could not take here (no
	// controller); the GMMA enforcer polices them instead.
	Unenforced() []string
	// Delegate lets uid:gid move its own processes into the group (v1: the
	// kernel then checks the caller's euid against the mover's).
	Delegate(uid, gid int) error
	// Kill freezes the group, SIGKILLs every process, thaws it and waits until
	// it is empty or ctx ends (ErrStillBusy).
	Kill(ctx context.Context) error
	// Delete kills what is left and removes the group's directories.
	Delete() error
}

// Options choose the hierarchy.
type Options struct {
	// Version forces 1 or 2; 0 detects it (hybrid and legacy → 1, unified → 2).
	Version int
	// Parent is the directory under which session groups live; default "igrid".
	// On v1 it is nested below the caller's own group in every hierarchy, so
	// a node agent that runs inside a delegated group keeps its children there.
	Parent string
	// Mountpoint of the v2 hierarchy; default /sys/fs/cgroup (unified) or
	// /sys/fs/cgroup/unified (hybrid).
	Mountpoint string
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

func checkName(n string) error {
	if !nameRE.MatchString(n) || n == "." || n == ".." {
		return fmt.Errorf("%w: %q (want one path element of [A-Za-z0-9._-], at most 128)", ErrBadName, n)
	}
	return nil
}

// Detect reports the cgroup version New would use with Version 0.
func Detect() (int, error) {
	switch cgroups.Mode() {
	case cgroups.Unified:
		return 2, nil
	case cgroups.Legacy, cgroups.Hybrid:
		return 1, nil
	}
	return 0, ErrUnavailable
}

// New creates the group name with limits lim.
func New(name string, lim Limits, opt Options) (Group, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if err := lim.Validate(); err != nil {
		return nil, err
	}
	if opt.Parent == "" {
		opt.Parent = "igrid"
	}
	for _, p := range strings.Split(opt.Parent, "/") {
		if err := checkName(p); err != nil {
			return nil, fmt.Errorf("parent %q: %w", opt.Parent, err)
		}
	}
	if os.Geteuid() != 0 {
		return nil, ErrNotRoot
	}
	v := opt.Version
	if v == 0 {
		var err error
		if v, err = Detect(); err != nil {
			return nil, err
		}
	}
	switch v {
	case 1:
		return newV1(name, lim, opt)
	case 2:
		return newV2(name, lim, opt)
	}
	return nil, fmt.Errorf("cgroup: version %d: want 1 or 2", v)
}

// Join moves the calling process into the group whose cgroup.procs files
// are given (what a re-exec helper does before execve).
func Join(procsFiles []string) error {
	for _, f := range procsFiles {
		if err := os.WriteFile(f, []byte("0"), 0); err != nil {
			return fmt.Errorf("cgroup join %s: %w", f, err)
		}
	}
	return nil
}

// readPids reads a cgroup.procs file.
func readPids(file string) ([]int, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		n, err := strconv.Atoi(f)
		if err == nil {
			out = append(out, n)
		}
	}
	return out, nil
}

func readUint(dir, file string) uint64 {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// readKey reads "key value" lines (memory.events, cpu.stat, pids.events).
func readKey(dir, file, key string) uint64 {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == key {
			n, _ := strconv.ParseUint(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// waitEmpty polls until pids reports nothing or ctx ends.
func waitEmpty(ctx context.Context, pids func() ([]int, error)) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		p, err := pids()
		if err != nil || len(p) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %d left (%v)", ErrStillBusy, len(p), ctx.Err())
		case <-t.C:
		}
	}
}
