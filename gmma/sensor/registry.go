package sensor

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/procfs"
)

// ProcSensor fills some fields of one process's sample.
type ProcSensor interface {
	// Name identifies the sensor in configuration and errors.
	Name() string
	// CollectProc reads process pid's counters into out; an error wrapping
	// os.ErrNotExist means the process is gone.
	CollectProc(pid int, out *Proc) error
}

// SessionSensor fills session-wide fields after the per-process pass.
type SessionSensor interface {
	// Name identifies the sensor in configuration and errors.
	Name() string
	// CollectSession reads t's counters into out (out.Procs is filled).
	CollectSession(t *Target, out *Session) error
}

// NodeSensor fills some fields of the node sample.
type NodeSensor interface {
	// Name identifies the sensor in configuration and errors.
	Name() string
	// CollectNode reads the node's counters into out.
	CollectNode(out *Node) error
}

// Config roots the readers (node_exporter's --path.procfs).
type Config struct {
	ProcRoot string // default /proc
	// DiskRoot is the file system whose size the node disk sensor reports; default /.
	DiskRoot string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// SlowEvery runs the costly per-process sensors (those with a Carry
	// method: I/O, sockets) on every SlowEvery-th pass only and carries their
	// last values in between (default 1: every pass).
	SlowEvery int
}

// SlowSensor is a ProcSensor that may skip passes: Carry copies the fields
// it fills from the last full pass.
type SlowSensor interface {
	ProcSensor
	// Carry copies this sensor's fields from a previous sample.
	Carry(from, to *Proc)
}

// Registry runs the sensors it holds.
type Registry struct {
	cfg   Config
	fs    procfs.FS
	mu    sync.Mutex
	procs []ProcSensor
	sess  []SessionSensor
	node  []NodeSensor
	names map[string]bool
	// last full values per session and pid, for the slow sensors
	passes map[string]uint64
	carry  map[string]map[int]Proc
}

// NewRegistry returns an empty registry reading cfg.ProcRoot.
func NewRegistry(cfg Config) (*Registry, error) {
	if cfg.ProcRoot == "" {
		cfg.ProcRoot = procfs.DefaultMountPoint
	}
	if cfg.DiskRoot == "" {
		cfg.DiskRoot = "/"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SlowEvery <= 0 {
		cfg.SlowEvery = 1
	}
	fs, err := procfs.NewFS(cfg.ProcRoot)
	if err != nil {
		return nil, fmt.Errorf("sensor: procfs root %s: %w", cfg.ProcRoot, err)
	}
	return &Registry{cfg: cfg, fs: fs, names: map[string]bool{}, passes: map[string]uint64{}, carry: map[string]map[int]Proc{}}, nil
}

// Default returns a registry with every sensor of this package.
func Default(cfg Config) (*Registry, error) {
	r, err := NewRegistry(cfg)
	if err != nil {
		return nil, err
	}
	for _, s := range []any{
		NewStatSensor(r.cfg.ProcRoot), NewIOSensor(r.fs), NewSocketSensor(r.fs),
		NewCgroupSensor(), NewDiskSensor(), NewNetSensor(r.cfg.ProcRoot),
		NewNodeCPUSensor(r.fs), NewNodeMemSensor(r.fs), NewNodeDiskSensor(r.cfg.DiskRoot), NewNodeNetSensor(r.fs),
	} {
		if err := r.Register(s); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Register adds a sensor: a ProcSensor, SessionSensor or NodeSensor.
func (r *Registry) Register(s any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var name string
	switch v := s.(type) {
	case ProcSensor:
		name = v.Name()
		r.procs = append(r.procs, v)
	case SessionSensor:
		name = v.Name()
		r.sess = append(r.sess, v)
	case NodeSensor:
		name = v.Name()
		r.node = append(r.node, v)
	default:
		return fmt.Errorf("sensor: %T is not a sensor", s)
	}
	if r.names[name] {
		return fmt.Errorf("%w: %s", ErrDuplicate, name)
	}
	r.names[name] = true
	return nil
}

// Names lists the registered sensors, sorted.
func (r *Registry) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for n := range r.names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// FS is the procfs the registry reads.
func (r *Registry) FS() procfs.FS { return r.fs }

// Session samples one session. A process that exits mid-sample is skipped.
func (r *Registry) Session(t *Target) (Session, error) {
	out := Session{ID: t.Session, Time: r.cfg.Now()}
	pids := t.PIDs
	if t.Group != nil {
		var err error
		if pids, err = t.Group.Pids(); err != nil {
			return out, fmt.Errorf("sensor: session %s: %w", t.Session, err)
		}
	} else if pids == nil {
		return out, ErrNoTarget
	}
	r.mu.Lock()
	procs, sess := r.procs, r.sess
	pass := r.passes[t.Session]
	r.passes[t.Session] = pass + 1
	prev := r.carry[t.Session]
	r.mu.Unlock()
	full := pass%uint64(r.cfg.SlowEvery) == 0
	next := make(map[int]Proc, len(pids))
	out.Procs = make([]Proc, 0, len(pids))
	for _, pid := range pids {
		old, had := prev[pid]
		p, ok := r.proc(procs, pid, full, old, had)
		if ok {
			out.Procs = append(out.Procs, p)
			if r.cfg.SlowEvery > 1 {
				next[pid] = p
			}
		}
	}
	if r.cfg.SlowEvery > 1 {
		r.mu.Lock()
		r.carry[t.Session] = next
		r.mu.Unlock()
	}
	var errs error
	for _, s := range sess {
		if err := s.CollectSession(t, &out); err != nil {
			errs = errors.Join(errs, fmt.Errorf("%s: %w", s.Name(), err))
		}
	}
	return out, errs
}

// Watcher is a sensor that sets something up per session before its first
// sample (the network sensor attaches its counters).
type Watcher interface{ Watch(t *Target) error }

// Forgetter is a sensor holding per-session state, released when the
// session ends.
type Forgetter interface{ Forget(session string) }

// Watch tells the sensors that want it about a new session.
func (r *Registry) Watch(t *Target) error {
	r.mu.Lock()
	sess := r.sess
	r.mu.Unlock()
	var errs error
	for _, s := range sess {
		if w, ok := s.(Watcher); ok {
			if err := w.Watch(t); err != nil {
				errs = errors.Join(errs, fmt.Errorf("%s: %w", s.Name(), err))
			}
		}
	}
	return errs
}

// Forget drops a session's carried values and the sensors' state for it
// (it ended).
func (r *Registry) Forget(session string) {
	r.mu.Lock()
	delete(r.passes, session)
	delete(r.carry, session)
	sess := r.sess
	r.mu.Unlock()
	for _, s := range sess {
		if f, ok := s.(Forgetter); ok {
			f.Forget(session)
		}
	}
}

func (r *Registry) proc(sensors []ProcSensor, pid int, full bool, old Proc, had bool) (Proc, bool) {
	out := Proc{PID: pid}
	for _, s := range sensors {
		// A slow sensor skips the pass when the same process (same start
		// time, read by the stat sensor that runs first) was measured before.
		if slow, ok := s.(SlowSensor); ok && !full && had && old.StartTicks == out.StartTicks {
			slow.Carry(&old, &out)
			continue
		}
		if err := s.CollectProc(pid, &out); err != nil {
			if os.IsNotExist(err) || errors.Is(err, os.ErrNotExist) {
				return Proc{}, false
			}
			// Another user's io file needs privilege: keep the rest.
			continue
		}
	}
	return out, true
}

// Uptime reads the seconds since boot, the clock of the processes' start
// times: CLOCK_BOOTTIME on the live /proc, /proc/uptime on a fixture tree.
func (r *Registry) Uptime() (float64, error) {
	if r.cfg.ProcRoot == procfs.DefaultMountPoint {
		if s, ok := bootSeconds(); ok {
			return s, nil
		}
	}
	var buf [128]byte
	n, err := readSmall(r.cfg.ProcRoot+"/uptime", buf[:])
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(buf[:n]))
	if len(f) == 0 {
		return 0, fmt.Errorf("sensor: empty uptime")
	}
	return strconv.ParseFloat(f[0], 64)
}

// Sweeper is a sensor holding per-process resources; Sweep releases those
// of processes not read since the last Sweep.
type Sweeper interface{ Sweep() }

// Node samples the node. It ends a pass: afterwards the sensors release what
// they held for processes that were not sampled in it.
func (r *Registry) Node() (Node, error) {
	out := Node{Time: r.cfg.Now()}
	r.mu.Lock()
	node := r.node
	for _, s := range r.procs {
		if sw, ok := s.(Sweeper); ok {
			sw.Sweep()
		}
	}
	r.mu.Unlock()
	var errs error
	for _, s := range node {
		if err := s.CollectNode(&out); err != nil {
			errs = errors.Join(errs, fmt.Errorf("%s: %w", s.Name(), err))
		}
	}
	return out, errs
}
