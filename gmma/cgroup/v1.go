package cgroup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/cgroups/v3/cgroup1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// v1Group is a session group spread over the v1 hierarchies.
type v1Group struct {
	name string
	net  string // companion group in the unified mount (netgroup.go), or ""
	cg   cgroup1.Cgroup
	dirs map[cgroup1.Name]string // subsystem → directory
}

var _ Group = (*v1Group)(nil)

// allowAny skips controllers that are not mounted (net_cls, hugetlb on a
// hybrid host) instead of failing.
func allowAny(c *cgroup1.InitConfig) error {
	c.InitCheck = cgroup1.AllowAny
	return nil
}

// pather is what every cgroup1 subsystem implements.
type pather interface{ Path(path string) string }

func v1Resources(l Limits) *specs.LinuxResources {
	r := &specs.LinuxResources{}
	if l.MemoryBytes > 0 {
		m := l.MemoryBytes
		r.Memory = &specs.LinuxMemory{Limit: &m}
	}
	if l.MaxProcs > 0 {
		p := l.MaxProcs
		r.Pids = &specs.LinuxPids{Limit: &p}
	}
	if l.CPUPercent > 0 {
		q, per := l.cpuQuotaUS(), uint64(cpuPeriodUS)
		r.CPU = &specs.LinuxCPU{Quota: &q, Period: &per}
	}
	return r
}

func newV1(name string, lim Limits, opt Options) (Group, error) {
	path := cgroup1.NestedPath(filepath.Join(opt.Parent, name))
	cg, err := cgroup1.New(path, v1Resources(lim), allowAny)
	if err != nil {
		return nil, fmt.Errorf("cgroup v1 %s: %w", name, err)
	}
	g := &v1Group{name: name, cg: cg, dirs: map[cgroup1.Name]string{}}
	for _, s := range cg.Subsystems() {
		p, err := path(s.Name())
		if err != nil {
			continue
		}
		if pt, ok := s.(pather); ok {
			g.dirs[s.Name()] = pt.Path(p)
		}
	}
	if g.dirs[cgroup1.Freezer] == "" || g.dirs[cgroup1.Pids] == "" {
		_ = cg.Delete()
		return nil, fmt.Errorf("cgroup v1 %s: %w: the freezer and pids controllers are required", name, ErrUnavailable)
	}
	g.net = newNetCompanion(name, opt)
	return g, nil
}

func (g *v1Group) Name() string { return g.name }
func (g *v1Group) Version() int { return 1 }
func (g *v1Group) Dir() string  { return g.dirs[cgroup1.Pids] }
func (g *v1Group) Add(pid int) error {
	if err := g.cg.Add(cgroup1.Process{Pid: pid}); err != nil {
		return fmt.Errorf("cgroup v1 %s: add %d: %w", g.name, pid, err)
	}
	return g.addNet(pid)
}

func (g *v1Group) ProcsFiles() []string {
	var out []string
	for _, d := range g.dirs {
		out = append(out, filepath.Join(d, "cgroup.procs"))
	}
	sort.Strings(out)
	return out
}

func (g *v1Group) Pids() ([]int, error) {
	p, err := readPids(filepath.Join(g.dirs[cgroup1.Pids], "cgroup.procs"))
	sort.Ints(p)
	return p, err
}

func (g *v1Group) Usage() (Usage, error) {
	var u Usage
	if d := g.dirs[cgroup1.Cpuacct]; d != "" {
		u.CPUNanos = readUint(d, "cpuacct.usage")
	}
	if d := g.dirs[cgroup1.Memory]; d != "" {
		u.MemoryBytes = readUint(d, "memory.usage_in_bytes")
		u.MemoryPeakBytes = readUint(d, "memory.max_usage_in_bytes")
		u.MemoryFailCount = readUint(d, "memory.failcnt")
		u.OOMKills = readKey(d, "memory.oom_control", "oom_kill")
	}
	d := g.dirs[cgroup1.Pids]
	if _, err := os.Stat(d); err != nil {
		return u, fmt.Errorf("cgroup v1 %s: %w", g.name, err)
	}
	u.Pids = readUint(d, "pids.current")
	u.PidsLimitHits = readKey(d, "pids.events", "max")
	return u, nil
}

func (g *v1Group) Update(l Limits) error {
	if err := l.Validate(); err != nil {
		return err
	}
	return g.cg.Update(v1Resources(l))
}

func (g *v1Group) Unenforced() []string {
	var out []string
	for _, n := range []cgroup1.Name{cgroup1.Memory, cgroup1.Cpu} {
		if g.dirs[n] == "" {
			out = append(out, string(n))
		}
	}
	return out
}

func (g *v1Group) Delegate(uid, gid int) error {
	for _, d := range g.dirs {
		for _, f := range []string{"cgroup.procs", "tasks"} {
			if err := os.Chown(filepath.Join(d, f), uid, gid); err != nil {
				return fmt.Errorf("cgroup v1 %s: delegate: %w", g.name, err)
			}
		}
	}
	return nil
}

func (g *v1Group) Kill(ctx context.Context) error {
	for {
		if err := g.killOnce(); err != nil {
			return err
		}
		short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		err := waitEmpty(short, g.Pids)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
	}
}

// killOnce freezes the group so nothing forks, SIGKILLs each process, thaws.
func (g *v1Group) killOnce() error {
	// Bounded freeze: the v1 freezer can sit in FREEZING while a fork bomb
	// races it, and containerd's Freeze waits for FROZEN without a deadline.
	// Killing works frozen or not; frozen only stops new forks meanwhile.
	fdir := g.dirs[cgroup1.Freezer]
	_ = os.WriteFile(filepath.Join(fdir, "freezer.state"), []byte("FROZEN"), 0)
	for i := 0; i < 50; i++ {
		if b, _ := os.ReadFile(filepath.Join(fdir, "freezer.state")); strings.TrimSpace(string(b)) == "FROZEN" {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	pids, err := g.Pids()
	for _, p := range pids {
		if e := syscall.Kill(p, syscall.SIGKILL); e != nil && !errors.Is(e, syscall.ESRCH) {
			err = errors.Join(err, e)
		}
	}
	if e := os.WriteFile(filepath.Join(fdir, "freezer.state"), []byte("THAWED"), 0); e != nil {
		err = errors.Join(err, e)
	}
	if err != nil {
		return fmt.Errorf("cgroup v1 %s: kill: %w", g.name, err)
	}
	return nil
}

func (g *v1Group) Delete() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.Kill(ctx); err != nil {
		return err
	}
	if err := deleteRetry(ctx, g.cg.Delete, g.killOnce); err != nil {
		return fmt.Errorf("cgroup v1 %s: delete: %w", g.name, err)
	}
	for _, d := range g.dirs {
		_ = os.Remove(filepath.Dir(d)) // the parent, when no other session uses it
	}
	return deleteRetry(ctx, g.removeNet, func() error { return nil })
}
