package accounts

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// killCgroup kills every process of a session cgroup (v2 or v1) and waits
// until it is empty: cgroup.kill where the kernel has it, else freeze
// (cgroup.freeze or the v1 freezer), SIGKILL every member, thaw. A missing
// cgroup is already clean.
func killCgroup(dir string, timeout time.Duration) error {
	if _, err := os.Stat(filepath.Join(dir, "cgroup.procs")); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	deadline := time.Now().Add(timeout)
	for {
		pids, err := cgroupPids(dir)
		if err != nil {
			return fmt.Errorf("cgroup %s: %w", dir, err)
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup %s: %d processes survive after %v: %v", dir, len(pids), timeout, pids)
		}
		if os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0) != nil {
			freezeKill(dir, pids)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// freezeKill freezes the cgroup so no member can fork, kills the members,
// and thaws it so the kill is delivered.
func freezeKill(dir string, pids []int) {
	v2 := filepath.Join(dir, "cgroup.freeze")
	v1 := filepath.Join(dir, "freezer.state")
	switch {
	case os.WriteFile(v2, []byte("1"), 0) == nil:
		defer os.WriteFile(v2, []byte("0"), 0)
	case os.WriteFile(v1, []byte("FROZEN"), 0) == nil:
		defer os.WriteFile(v1, []byte("THAWED"), 0)
	}
	if again, err := cgroupPids(dir); err == nil {
		pids = again // members forked before the freeze took hold
	}
	for _, pid := range pids {
		if pid != os.Getpid() {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
}

func cgroupPids(dir string) ([]int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}
