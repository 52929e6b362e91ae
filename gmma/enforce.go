package gmma

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/igrid/igrid/internal/bus"
)

// Action is what an enforcer does about a breach.
type Action string

// The enforcement actions.
const (
	ActionWarn       Action = "warn"        // tell the user (GISH terminals, notification)
	ActionReniceDown Action = "renice_down" // lower the priority of an application above its share
	ActionReniceUp   Action = "renice_up"   // give back priority to one now below its share
	ActionKill       Action = "kill"        // kill an application far over its share
	ActionEnd        Action = "end"         // end the session
)

// Reasons, one per rule, carried by every audit event.
const (
	ReasonCPUOverShare   = "cpu_over_share"
	ReasonCPUFarOver     = "cpu_far_over_share"
	ReasonCPUBackInShare = "cpu_back_within_share"
	ReasonUsageTimeSoon  = "usage_time_ending"
	ReasonUsageTimeOver  = "usage_time_over"
	ReasonProcessesAt    = "processes_at_limit"
	ReasonDiskOver       = "disk_over_quota"
	ReasonBandwidthOver  = "bandwidth_over_limit"
)

// EnforcePolicy holds the thresholds and grace periods (from the session and
// QoS policies). Zero fields take the defaults of DefaultEnforcePolicy.
type EnforcePolicy struct {
	// An application's share is the session's CPU limit divided among its
	// applications using CPU (at least one).
	ReniceAbove   float64       // renice down above share × this (1.0)
	ReniceUpBelow float64       // renice up below share × this (0.8)
	KillAbove     float64       // kill above share × this … (2.0)
	KillGrace     time.Duration // … held this long (3s; 0 in a policy means the default)
	ReniceStep    int           // nice steps per action (5)
	WarnBefore    time.Duration // warn this long before usage time ends (1m)
	WarnEvery     time.Duration // repeat a warning at most this often (30s)
	DiskGrace     time.Duration // over the disk quota this long → DiskAction (1m)
	DiskAction    Action        // warn (default) or end
	BandwidthAct  Action        // warn (default) or end, after DiskGrace too
	// CPUAction is what an application over its CPU share gets: kill
	// (default: renice, then kill when far over), renice (never kill), warn
	// (tell the user only), none, or end (end the session once the session
	// is over its CPU limit for KillGrace).
	CPUAction Action
}

// DefaultEnforcePolicy is used for unset fields.
func DefaultEnforcePolicy() EnforcePolicy {
	return EnforcePolicy{ReniceAbove: 1.0, ReniceUpBelow: 0.8, KillAbove: 2.0, KillGrace: 3 * time.Second,
		ReniceStep: 5, WarnBefore: time.Minute, WarnEvery: 30 * time.Second, DiskGrace: time.Minute,
		DiskAction: ActionWarn, BandwidthAct: ActionWarn}
}

func (p EnforcePolicy) withDefaults() EnforcePolicy {
	d := DefaultEnforcePolicy()
	set := func(v *float64, dv float64) {
		if *v == 0 {
			*v = dv
		}
	}
	set(&p.ReniceAbove, d.ReniceAbove)
	set(&p.ReniceUpBelow, d.ReniceUpBelow)
	set(&p.KillAbove, d.KillAbove)
	setD := func(v *time.Duration, dv time.Duration) {
		if *v == 0 {
			*v = dv
		}
	}
	setD(&p.KillGrace, d.KillGrace)
	setD(&p.WarnBefore, d.WarnBefore)
	setD(&p.WarnEvery, d.WarnEvery)
	setD(&p.DiskGrace, d.DiskGrace)
	if p.ReniceStep == 0 {
		p.ReniceStep = d.ReniceStep
	}
	if p.DiskAction == "" {
		p.DiskAction = d.DiskAction
	}
	if p.BandwidthAct == "" {
		p.BandwidthAct = d.BandwidthAct
	}
	if p.CPUAction == "" {
		p.CPUAction = ActionKill
	}
	return p
}

// Hooks are what the node agent lends the enforcer. Nil hooks fall back to
// the kernel (kill, setpriority) or to doing nothing (warn, end).
type Hooks struct {
	Warn       func(session, msg string)
	EndSession func(session, reason string)
	Kill       func(pids []int) error
	Renice     func(pid, nice int) error
}

// AuditEvent records one enforcement action with the measurement behind it.
type AuditEvent struct {
	Kind      string    `json:"kind"` // "gmma.enforce"
	Time      time.Time `json:"time"`
	Node      string    `json:"node"`
	Session   string    `json:"session"`
	App       string    `json:"app,omitempty"`
	PIDs      []int     `json:"pids,omitempty"`
	Action    Action    `json:"action"`
	Parameter string    `json:"parameter"`
	Reason    string    `json:"reason"`
	Measured  float64   `json:"measured"`
	Limit     float64   `json:"limit"`
	Share     float64   `json:"share,omitempty"`
	Nice      int       `json:"nice,omitempty"`
	Message   string    `json:"message"`
	Error     string    `json:"error,omitempty"`
}

// EnforcerConfig configures an Enforcer.
type EnforcerConfig struct {
	Node   string
	Policy EnforcePolicy
	Hooks  Hooks
	Conn   *nats.Conn       // audit events go to igrid.audit.<node>
	OnAct  func(AuditEvent) // in-process observer (metrics, tests)
	Now    func() time.Time
	Logger *slog.Logger
}

// Enforcer compares each sample with the SLAs and acts.
type Enforcer struct {
	cfg EnforcerConfig
	pol EnforcePolicy

	mu    sync.Mutex
	state map[string]*enfState
}

type enfState struct {
	farSince   map[string]time.Time // app → first sample far over
	reniced    map[int]int          // pid → nice we set
	lastWarn   map[string]time.Time // reason → last warning
	overSince  map[string]time.Time // disk/bandwidth → first over
	ended      bool
	timer      *time.Timer
	timeWarned bool
	pol        *EnforcePolicy // the session's own policy; nil = the enforcer's
}

// NewEnforcer returns an enforcer.
func NewEnforcer(cfg EnforcerConfig) (*Enforcer, error) {
	if cfg.Node == "" {
		return nil, fmt.Errorf("%w: enforcer Node", ErrNoConfig)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Hooks.Kill == nil {
		cfg.Hooks.Kill = killPids
	}
	if cfg.Hooks.Renice == nil {
		cfg.Hooks.Renice = func(pid, nice int) error {
			return syscall.Setpriority(syscall.PRIO_PROCESS, pid, nice)
		}
	}
	return &Enforcer{cfg: cfg, pol: cfg.Policy.withDefaults(), state: map[string]*enfState{}}, nil
}

func killPids(pids []int) error {
	var err error
	for _, p := range pids {
		if e := syscall.Kill(p, syscall.SIGKILL); e != nil && !errors.Is(e, syscall.ESRCH) {
			err = errors.Join(err, e)
		}
	}
	return err
}

func (e *Enforcer) st(session string) *enfState {
	s := e.state[session]
	if s == nil {
		s = &enfState{farSince: map[string]time.Time{}, reniced: map[int]int{},
			lastWarn: map[string]time.Time{}, overSince: map[string]time.Time{}}
		e.state[session] = s
	}
	return s
}

// Arm enforces the session's usage time on this node with a local timer, so
// the session ends on time even when the DRM is unreachable.
func (e *Enforcer) Arm(session string, sla SLA) {
	end := sla.End()
	if end.IsZero() {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.st(session)
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timer = time.AfterFunc(max(end.Sub(e.cfg.Now()), 0), func() {
		e.endOnce(session, "usage_time", ReasonUsageTimeOver, sla.UsageTime.Seconds(), sla.UsageTime.Seconds())
	})
}

// SetPolicy gives one session its own thresholds and actions (from its
// class's session and QoS policies); zero fields take the defaults.
func (e *Enforcer) SetPolicy(session string, p EnforcePolicy) {
	p = p.withDefaults()
	e.mu.Lock()
	e.st(session).pol = &p
	e.mu.Unlock()
}

// policyOf returns the policy in force for a session.
func (e *Enforcer) policyOf(session string) EnforcePolicy {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s := e.state[session]; s != nil && s.pol != nil {
		return *s.pol
	}
	return e.pol
}

// Disarm forgets a session (it ended).
func (e *Enforcer) Disarm(session string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s := e.state[session]; s != nil && s.timer != nil {
		s.timer.Stop()
	}
	delete(e.state, session)
}

// Observe is the Monitor consumer: it checks every session of the sample.
func (e *Enforcer) Observe(s Sample) {
	for i := range s.Sessions {
		e.check(&s.Sessions[i])
	}
}

func (e *Enforcer) check(u *SessionUsage) {
	e.mu.Lock()
	st := e.st(u.Session)
	ended := st.ended
	e.mu.Unlock()
	if ended {
		return
	}
	if e.checkUsageTime(u) {
		return
	}
	pol := e.policyOf(u.Session)
	e.checkCPU(u, pol)
	e.checkProcesses(u)
	e.checkOverFor(u, pol, "disk_mb", ReasonDiskOver, float64(u.DiskBytes)/(1<<20), float64(u.SLA.DiskMB), pol.DiskAction)
	e.checkOverFor(u, pol, "bandwidth_kbps", ReasonBandwidthOver, u.BandwidthKbps, float64(u.SLA.BandwidthKbps), pol.BandwidthAct)
}

// emit publishes an audit event and tells the observer.
func (e *Enforcer) emit(ev AuditEvent) {
	ev.Kind, ev.Node = "gmma.enforce", e.cfg.Node
	if ev.Time.IsZero() {
		ev.Time = e.cfg.Now()
	}
	e.cfg.Logger.Info("gmma enforce", "session", ev.Session, "action", ev.Action, "parameter", ev.Parameter,
		"reason", ev.Reason, "measured", ev.Measured, "limit", ev.Limit, "app", ev.App)
	if e.cfg.Conn != nil {
		if b, err := json.Marshal(ev); err == nil {
			_ = e.cfg.Conn.Publish(bus.AuditSubject(e.cfg.Node), b)
		}
	}
	if e.cfg.OnAct != nil {
		e.cfg.OnAct(ev)
	}
}

// warn sends a rate-limited warning.
func (e *Enforcer) warn(u *SessionUsage, ev AuditEvent) {
	e.mu.Lock()
	st := e.st(u.Session)
	now := e.cfg.Now()
	every := e.pol.WarnEvery
	if st.pol != nil {
		every = st.pol.WarnEvery
	}
	if last, ok := st.lastWarn[ev.Reason]; ok && now.Sub(last) < every {
		e.mu.Unlock()
		return
	}
	st.lastWarn[ev.Reason] = now
	e.mu.Unlock()
	ev.Action, ev.Session = ActionWarn, u.Session
	if e.cfg.Hooks.Warn != nil {
		e.cfg.Hooks.Warn(u.Session, ev.Message)
	}
	e.emit(ev)
}

// endOnce ends a session at most once.
func (e *Enforcer) endOnce(session, param, reason string, measured, limit float64) {
	e.mu.Lock()
	st := e.st(session)
	if st.ended {
		e.mu.Unlock()
		return
	}
	st.ended = true
	e.mu.Unlock()
	msg := fmt.Sprintf("session %s ended: %s (%.0f of %.0f)", session, reason, measured, limit)
	if e.cfg.Hooks.Warn != nil {
		e.cfg.Hooks.Warn(session, msg)
	}
	e.emit(AuditEvent{Session: session, Action: ActionEnd, Parameter: param, Reason: reason,
		Measured: measured, Limit: limit, Message: msg})
	if e.cfg.Hooks.EndSession != nil {
		e.cfg.Hooks.EndSession(session, reason)
	}
}
