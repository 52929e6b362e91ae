package cgroup

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup2"
)

// v2Group is a session group in the unified hierarchy.
type v2Group struct {
	name, mount, group string
	m                  *cgroup2.Manager
	have               map[string]bool // controllers available at the root
	unenforced         []string
}

var _ Group = (*v2Group)(nil)

func v2Mount(opt Options) string {
	if opt.Mountpoint != "" {
		return opt.Mountpoint
	}
	if cgroups.Mode() == cgroups.Unified {
		return "/sys/fs/cgroup"
	}
	return "/sys/fs/cgroup/unified"
}

func newV2(name string, lim Limits, opt Options) (Group, error) {
	mount := v2Mount(opt)
	b, err := os.ReadFile(filepath.Join(mount, "cgroup.controllers"))
	if err != nil {
		return nil, fmt.Errorf("cgroup v2 at %s: %w: %v", mount, ErrUnavailable, err)
	}
	g := &v2Group{name: name, mount: mount, group: "/" + filepath.Join(opt.Parent, name), have: map[string]bool{}}
	for _, c := range strings.Fields(string(b)) {
		g.have[c] = true
	}
	res := g.resources(lim)
	m, err := cgroup2.NewManager(mount, g.group, res)
	if err != nil {
		return nil, fmt.Errorf("cgroup v2 %s: %w", name, err)
	}
	g.m = m
	return g, nil
}

// resources keeps the limits whose controller exists and records the rest.
func (g *v2Group) resources(l Limits) *cgroup2.Resources {
	r := &cgroup2.Resources{}
	g.unenforced = nil
	if l.MemoryBytes > 0 {
		if g.have["memory"] {
			m := l.MemoryBytes
			r.Memory = &cgroup2.Memory{Max: &m}
		} else {
			g.unenforced = append(g.unenforced, "memory")
		}
	}
	if l.MaxProcs > 0 {
		if g.have["pids"] {
			r.Pids = &cgroup2.Pids{Max: l.MaxProcs}
		} else {
			g.unenforced = append(g.unenforced, "pids")
		}
	}
	if l.CPUPercent > 0 {
		if g.have["cpu"] {
			q, per := l.cpuQuotaUS(), uint64(cpuPeriodUS)
			r.CPU = &cgroup2.CPU{Max: cgroup2.NewCPUMax(&q, &per)}
		} else {
			g.unenforced = append(g.unenforced, "cpu")
		}
	}
	return r
}

func (g *v2Group) Name() string         { return g.name }
func (g *v2Group) Version() int         { return 2 }
func (g *v2Group) Dir() string          { return filepath.Join(g.mount, g.group) }
func (g *v2Group) ProcsFiles() []string { return []string{filepath.Join(g.Dir(), "cgroup.procs")} }
func (g *v2Group) Unenforced() []string { return append([]string(nil), g.unenforced...) }

func (g *v2Group) Add(pid int) error {
	if err := g.m.AddProc(uint64(pid)); err != nil {
		return fmt.Errorf("cgroup v2 %s: add %d: %w", g.name, pid, err)
	}
	return nil
}

func (g *v2Group) Pids() ([]int, error) {
	p, err := readPids(filepath.Join(g.Dir(), "cgroup.procs"))
	sort.Ints(p)
	return p, err
}

func (g *v2Group) Usage() (Usage, error) {
	d := g.Dir()
	if _, err := os.Stat(d); err != nil {
		return Usage{}, fmt.Errorf("cgroup v2 %s: %w", g.name, err)
	}
	u := Usage{
		CPUNanos:        readKey(d, "cpu.stat", "usage_usec") * 1000,
		MemoryBytes:     readUint(d, "memory.current"),
		MemoryPeakBytes: readUint(d, "memory.peak"),
		MemoryFailCount: readKey(d, "memory.events", "max"),
		OOMKills:        readKey(d, "memory.events", "oom_kill"),
		Pids:            readUint(d, "pids.current"),
		PidsLimitHits:   readKey(d, "pids.events", "max"),
	}
	if !g.have["pids"] {
		p, _ := g.Pids()
		u.Pids = uint64(len(p))
	}
	return u, nil
}

func (g *v2Group) Update(l Limits) error {
	if err := l.Validate(); err != nil {
		return err
	}
	return g.m.Update(g.resources(l))
}

func (g *v2Group) Delegate(uid, gid int) error {
	for _, f := range []string{"cgroup.procs", "cgroup.threads"} {
		if err := os.Chown(filepath.Join(g.Dir(), f), uid, gid); err != nil {
			return fmt.Errorf("cgroup v2 %s: delegate: %w", g.name, err)
		}
	}
	return nil
}

func (g *v2Group) Kill(ctx context.Context) error {
	for {
		if err := g.m.Kill(); err != nil {
			return fmt.Errorf("cgroup v2 %s: kill: %w", g.name, err)
		}
		short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		err := waitEmpty(short, g.Pids)
		cancel()
		if err == nil || ctx.Err() != nil {
			return err
		}
	}
}

func (g *v2Group) Delete() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.Kill(ctx); err != nil {
		return err
	}
	if err := deleteRetry(ctx, g.m.Delete, func() error { return nil }); err != nil {
		return fmt.Errorf("cgroup v2 %s: delete: %w", g.name, err)
	}
	// Remove the parent too when no other session uses it.
	_ = os.Remove(filepath.Dir(g.Dir()))
	return nil
}
