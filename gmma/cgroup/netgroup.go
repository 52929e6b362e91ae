package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/containerd/cgroups/v3"
)

// Network accounting (gmma/netbpf) attaches cgroup-BPF programs to a
// cgroup-v2 directory, and a socket is counted by the v2 group of the
// process that created it. On v2 that is the session group itself. On a
// hybrid v1 host every process is also in exactly one group of the unified
// mount, so a v1 session gets a companion group there (<unified>/<parent>/
// <session>, no controllers) that Add, StartIn and SyncNet keep in step
// with the v1 groups.

type netDirer interface{ NetDir() string }

// NetDir is the cgroup-v2 directory that holds g's processes for network
// accounting: Dir() on v2, the companion group on a hybrid v1 host, "" when
// there is none (legacy v1 without a unified mount).
func NetDir(g Group) string {
	if n, ok := g.(netDirer); ok {
		return n.NetDir()
	}
	return ""
}

// SyncNet moves the processes of g that are not yet in its v2 network group
// there (those that joined the v1 groups by themselves, cgroup.Join), and
// returns how many it moved. A no-op on v2.
func SyncNet(g Group) (int, error) {
	v1, ok := g.(*v1Group)
	if !ok || v1.net == "" {
		return 0, nil
	}
	return v1.syncNet()
}

func (g *v2Group) NetDir() string { return g.Dir() }
func (g *v1Group) NetDir() string { return g.net }

// newNetCompanion creates the unified-mount companion of a v1 group on a
// hybrid host; "" (no companion, network bytes fall back to sock_diag) when
// the host is not hybrid or the unified mount refuses.
func newNetCompanion(name string, opt Options) string {
	if cgroups.Mode() != cgroups.Hybrid {
		return ""
	}
	mount := v2Mount(opt)
	if _, err := os.Stat(filepath.Join(mount, "cgroup.procs")); err != nil {
		return ""
	}
	dir := filepath.Join(mount, opt.Parent, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ""
	}
	return dir
}

func (g *v1Group) addNet(pid int) error {
	if g.net == "" {
		return nil
	}
	err := os.WriteFile(filepath.Join(g.net, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("cgroup v1 %s: add %d to network group %s: %w", g.name, pid, g.net, err)
	}
	return nil
}

func (g *v1Group) syncNet() (int, error) {
	in, err := readPids(filepath.Join(g.net, "cgroup.procs"))
	if err != nil {
		return 0, fmt.Errorf("cgroup v1 %s: network group: %w", g.name, err)
	}
	have := make(map[int]bool, len(in))
	for _, p := range in {
		have[p] = true
	}
	all, err := g.Pids()
	if err != nil {
		return 0, err
	}
	moved := 0
	var errs error
	for _, p := range all {
		if have[p] {
			continue
		}
		if err := g.addNet(p); err != nil {
			errs = errors.Join(errs, err)
			continue
		}
		moved++
	}
	return moved, errs
}

// removeNet removes the companion group (its processes are gone) and its
// parent when no other session uses it.
func (g *v1Group) removeNet() error {
	if g.net == "" {
		return nil
	}
	if err := os.Remove(g.net); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("cgroup v1 %s: remove network group: %w", g.name, err)
	}
	_ = os.Remove(filepath.Dir(g.net))
	return nil
}
