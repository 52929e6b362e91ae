package gmma

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/sys/unix"

	"github.com/igrid/igrid/gmma/sensor"
)

// MonitorConfig configures a node's monitoring agent.
type MonitorConfig struct {
	Node, Cluster string
	// Interval between samples; the session policy sets it (default 1s).
	Interval time.Duration
	// Sensors to run; default sensor.Default on /proc with the I/O and
	// socket sensors on every SlowEvery-th sample.
	Sensors *sensor.Registry
	// SlowEvery for the default sensors (default 10: at 1 Hz, I/O and
	// sockets are read every 10 s; CPU, memory, threads every second).
	SlowEvery int
	// Conn, when set, receives every sample on SampleSubject(cluster, node)
	// (without the per-process detail).
	Conn   *nats.Conn
	Now    func() time.Time
	Logger *slog.Logger
	// The sampling thread (sensors and the in-process consumers: enforcer,
	// aggregator, metrics) runs above the processes it polices, so their
	// load cannot delay the enforcement. As root it runs SCHED_RR at the
	// lowest real-time priority (1): woken by its timer within a fraction of
	// a millisecond whatever the load; its work per period is bounded (one
	// sensor pass) and the kernel's real-time throttling still leaves the
	// rest of the machine 5 % of every second. SamplerNoRealtime (or a
	// refusal) uses nice SamplerNice instead (default -10); KeepPriority
	// leaves the thread alone (and unprivileged agents do).
	SamplerNoRealtime bool
	SamplerNice       int
	KeepPriority      bool
}

// Monitor is the monitoring agent: the producer that turns the sensors'
// counters into per-session and per-application usage every interval and
// hands each Sample to its consumers (aggregator, enforcer, metrics, SAC).
type Monitor struct {
	cfg    MonitorConfig
	uptime float64 // seconds since boot at the current sample (sampling goroutine only)

	mu        sync.Mutex
	sessions  map[string]*watched
	consumers []func(Sample)
	latest    Sample
	seq       uint64
	prevNode  *sensor.Node

	stop  chan struct{}
	done  chan struct{}
	clock *sampleClock
}

type watched struct {
	target sensor.Target
	sla    SLA
	prev   *rawPrev
}

type procPrev struct {
	start     uint64
	cpu       float64
	rd, wr    uint64
	firstSeen bool
}

type rawPrev struct {
	time  time.Time
	procs map[int]procPrev
	cgCPU uint64
	net   uint64
}

// NewMonitor checks cfg and fills defaults.
func NewMonitor(cfg MonitorConfig) (*Monitor, error) {
	if cfg.Node == "" {
		return nil, fmt.Errorf("%w: monitor Node", ErrNoConfig)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Sensors == nil {
		if cfg.SlowEvery <= 0 {
			cfg.SlowEvery = 10
		}
		r, err := sensor.Default(sensor.Config{Now: cfg.Now, SlowEvery: cfg.SlowEvery})
		if err != nil {
			return nil, err
		}
		cfg.Sensors = r
	}
	return &Monitor{cfg: cfg, sessions: map[string]*watched{}}, nil
}

// Interval is the sample period.
func (m *Monitor) Interval() time.Duration { return m.cfg.Interval }

// Watch starts sampling a session.
func (m *Monitor) Watch(id string, t sensor.Target, sla SLA) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sessions[id]; ok {
		return fmt.Errorf("%w: %s", ErrDuplicateSession, id)
	}
	t.Session = id
	if err := m.cfg.Sensors.Watch(&t); err != nil {
		return fmt.Errorf("gmma watch %s: %w", id, err)
	}
	m.sessions[id] = &watched{target: t, sla: sla}
	return nil
}

// Unwatch stops sampling a session and releases what the sensors hold for
// it (the network counters are detached).
func (m *Monitor) Unwatch(id string) {
	m.mu.Lock()
	_, ok := m.sessions[id]
	delete(m.sessions, id)
	m.mu.Unlock()
	if ok {
		m.cfg.Sensors.Forget(id)
	}
}

// Subscribe adds an in-process consumer; it runs on the sampling goroutine.
func (m *Monitor) Subscribe(f func(Sample)) {
	m.mu.Lock()
	m.consumers = append(m.consumers, f)
	m.mu.Unlock()
}

// Latest returns a session's last usage.
func (m *Monitor) Latest(id string) (SessionUsage, SLA, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.sessions[id]
	if !ok {
		return SessionUsage{}, SLA{}, false
	}
	for _, s := range m.latest.Sessions {
		if s.Session == id {
			return s, w.sla, true
		}
	}
	return SessionUsage{Session: id, SLA: w.sla}, w.sla, true
}

// Start samples every interval until Shutdown.
func (m *Monitor) Start() error {
	m.stop, m.done = make(chan struct{}), make(chan struct{})
	m.clock = newSampleClock(m.cfg.Interval, m.stop)
	go m.loop(m.clock)
	return nil
}

// Ready returns nil: the agent samples from Start on.
func (m *Monitor) Ready(ctx context.Context) error { return ctx.Err() }

// Shutdown stops sampling.
func (m *Monitor) Shutdown(ctx context.Context) error {
	if m.stop == nil {
		return nil
	}
	close(m.stop)
	m.clock.interrupt()
	select {
	case <-m.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *Monitor) loop(c *sampleClock) {
	defer close(m.done)
	defer c.close()
	m.raisePriority()
	due := time.Now()
	for {
		if _, err := m.sample(due); err != nil {
			m.cfg.Logger.Warn("gmma sample", "node", m.cfg.Node, "err", err)
		}
		var ok bool
		if due, ok = c.wait(); !ok {
			return
		}
	}
}

// raisePriority pins the sampling goroutine to its thread and raises that
// thread's priority (SCHED_RR 1, else a nice value). The thread is never
// unlocked: it exits with the goroutine, so the runtime does not reuse it
// with the raised priority.
func (m *Monitor) raisePriority() {
	if m.cfg.KeepPriority || os.Geteuid() != 0 {
		return
	}
	runtime.LockOSThread()
	if !m.cfg.SamplerNoRealtime {
		attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: schedRR, Priority: 1}
		err := unix.SchedSetAttr(0, &attr, 0)
		if err == nil {
			return
		}
		m.cfg.Logger.Warn("gmma sampler: no real-time priority, using nice", "node", m.cfg.Node, "err", err)
	}
	nice := m.cfg.SamplerNice
	if nice == 0 {
		nice = -10
	}
	if err := unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), nice); err != nil {
		m.cfg.Logger.Warn("gmma sampler priority", "node", m.cfg.Node, "nice", nice, "err", err)
	}
}

// schedRR is SCHED_RR (linux/sched.h).
const schedRR = 2

// SampleNow takes one sample, hands it to the consumers and publishes it.
func (m *Monitor) SampleNow() (Sample, error) { return m.sample(time.Time{}) }

// sample takes the sample that was due at due (zero: now).
func (m *Monitor) sample(due time.Time) (Sample, error) {
	began := time.Now()
	m.mu.Lock()
	ids := make([]string, 0, len(m.sessions))
	for id := range m.sessions {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	ws := make([]*watched, len(ids))
	for i, id := range ids {
		ws[i] = m.sessions[id]
	}
	m.mu.Unlock()

	var errs []error
	m.uptime, _ = m.cfg.Sensors.Uptime()
	s := Sample{Sessions: make([]SessionUsage, 0, len(ws))}
	for _, w := range ws {
		raw, err := m.cfg.Sensors.Session(&w.target)
		if err != nil {
			errs = append(errs, err)
		}
		s.Sessions = append(s.Sessions, m.sessionUsage(w, raw))
	}
	nraw, err := m.cfg.Sensors.Node()
	if err != nil {
		errs = append(errs, err)
	}
	s.Node = m.nodeUsage(nraw, len(ws))
	for _, su := range s.Sessions {
		s.Node.SessionsCPUPercent += su.CPUPercent
	}
	s.Took = time.Since(began)
	if !due.IsZero() && began.After(due) {
		s.Late = began.Sub(due)
	}

	m.mu.Lock()
	m.seq++
	s.Seq = m.seq
	m.latest = s
	consumers := m.consumers
	m.mu.Unlock()
	for _, f := range consumers {
		f(s)
	}
	m.publish(s)
	if len(errs) > 0 {
		return s, fmt.Errorf("gmma sample: %v", errs)
	}
	return s, nil
}

func (m *Monitor) publish(s Sample) {
	if m.cfg.Conn == nil {
		return
	}
	wire := s
	wire.Sessions = make([]SessionUsage, len(s.Sessions))
	for i, su := range s.Sessions {
		su.Procs = nil
		wire.Sessions[i] = su
	}
	b, err := json.Marshal(wire)
	if err != nil {
		return
	}
	if err := m.cfg.Conn.Publish(SampleSubject(m.cfg.Cluster, m.cfg.Node), b); err != nil {
		m.cfg.Logger.Warn("gmma publish sample", "node", m.cfg.Node, "err", err)
	}
}
