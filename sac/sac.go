package sac

import (
	"fmt"
	"path/filepath"
	"time"
)

// Parameters of a session's SLA that admission checks, in this order.
const (
	ParamProcesses = "processes"
	ParamUsageTime = "usage_time"
	ParamDisk      = "disk_mb"
	ParamCPU       = "cpu_percent"
	ParamBandwidth = "bandwidth_kbps"
)

// Reasons a person can read, one per "no" (and "ok").
const (
	ReasonOK            = "within_sla"
	ReasonOverLimit     = "over_sla_limit"
	ReasonSessionOver   = "usage_time_over"
	ReasonUnknownCaller = "unknown_caller"
	ReasonPolicy        = "policy_denied"
	ReasonNoState       = "no_monitoring_data"
	ReasonStaged        = "staged"
	ReasonStageRefused  = "stage_refused"
	ReasonNoStager      = "no_stager"
)

// Limits are a session's SLA limits; zero means "no limit".
type Limits struct {
	MaxProcesses  int           `json:"max_processes"`
	UsageTime     time.Duration `json:"usage_time"`
	DiskMB        float64       `json:"disk_mb"`
	CPUPercent    float64       `json:"cpu_percent"` // percent of one core
	BandwidthKbps float64       `json:"bandwidth_kbps"`
}

// Current is the session's aggregate now (from GMMA).
type Current struct {
	Processes     int           `json:"processes"`
	Elapsed       time.Duration `json:"elapsed"`
	DiskMB        float64       `json:"disk_mb"`
	CPUPercent    float64       `json:"cpu_percent"`
	BandwidthKbps float64       `json:"bandwidth_kbps"`
}

// Profile is the expected demand of one more instance of an application.
type Profile struct {
	App           string        `json:"app"`
	Processes     int           `json:"processes"` // default 1
	Runtime       time.Duration `json:"runtime"`   // expected run time; 0 = unknown
	DiskMB        float64       `json:"disk_mb"`
	CPUPercent    float64       `json:"cpu_percent"`
	BandwidthKbps float64       `json:"bandwidth_kbps"`
}

// Request asks to start an application, or (Op "stage") to stage a user
// binary: App is then the user's name of it, Sig its detached signature
// (the text of FILE.sig) and the open file travels with the line
// (SCM_RIGHTS).
type Request struct {
	Op   string   `json:"op,omitempty"` // "" or OpAdmit; OpStage
	App  string   `json:"app"`
	Argv []string `json:"argv,omitempty"`
	Sig  string   `json:"sig,omitempty"`
}

// Request operations.
const (
	OpAdmit = "admit"
	OpStage = "stage"
)

// Decision is SAC's answer, with the parameter and the numbers behind a Deny.
type Decision struct {
	Allow     bool    `json:"allow"`
	Reason    string  `json:"reason"`
	Session   string  `json:"session,omitempty"`
	App       string  `json:"app,omitempty"`
	Parameter string  `json:"parameter,omitempty"`
	Current   float64 `json:"current,omitempty"`
	Estimate  float64 `json:"estimate,omitempty"`
	Limit     float64 `json:"limit,omitempty"`
	// Over is current + estimate − limit: by how much the launch would pass it.
	Over    float64 `json:"over,omitempty"`
	Message string  `json:"message"`
	// Path is the staged copy of a user binary (Op "stage", allowed).
	Path string `json:"path,omitempty"`
}

// State gives SAC a session's SLA and current aggregate.
type State interface {
	// Session returns the limits and the current use of session id, or an
	// error wrapping ErrUnknownSession.
	Session(id string) (Limits, Current, error)
}

// Profiles gives the expected demand of an application.
type Profiles interface {
	// Profile returns app's profile and whether one is known.
	Profile(app string) (Profile, bool)
}

// PolicyHook may refuse an application outright (class policy); "" allows.
type PolicyHook func(session, app string, argv []string) (reason string)

// Config assembles a Controller.
type Config struct {
	State    State
	Profiles Profiles // optional: every app then gets Default
	// Default is the profile of an application with none (processes 1).
	Default Profile
	Policy  PolicyHook // optional
}

// Controller decides admissions.
type Controller struct{ cfg Config }

// New returns a controller.
func New(cfg Config) (*Controller, error) {
	if cfg.State == nil {
		return nil, fmt.Errorf("%w: State", ErrNoConfig)
	}
	if cfg.Default.Processes == 0 {
		cfg.Default.Processes = 1
	}
	return &Controller{cfg: cfg}, nil
}

// AppName is the application name SAC and the profiles use for argv0.
func AppName(app string) string { return filepath.Base(app) }

// Decide admits or refuses req for session. For every parameter with a
// limit it checks current + estimate ≤ limit, in the order processes, usage
// time, disk, CPU, bandwidth, and refuses at the first one that fails.
func (c *Controller) Decide(session string, req Request) Decision {
	app := AppName(req.App)
	d := Decision{Session: session, App: app}
	if c.cfg.Policy != nil {
		if r := c.cfg.Policy(session, app, req.Argv); r != "" {
			d.Reason, d.Message = ReasonPolicy, fmt.Sprintf("%s: refused by policy: %s", app, r)
			return d
		}
	}
	lim, cur, err := c.cfg.State.Session(session)
	if err != nil {
		d.Reason, d.Message = ReasonNoState, fmt.Sprintf("%s: no monitoring data for session %s: %v", app, session, err)
		return d
	}
	p := c.profile(app)
	if lim.UsageTime > 0 && cur.Elapsed >= lim.UsageTime {
		return c.deny(d, ReasonSessionOver, ParamUsageTime, cur.Elapsed.Seconds(), 0, lim.UsageTime.Seconds(), "s")
	}
	checks := []struct {
		param           string
		cur, est, limit float64
		unit            string
	}{
		{ParamProcesses, float64(cur.Processes), float64(p.Processes), float64(lim.MaxProcesses), ""},
		{ParamUsageTime, cur.Elapsed.Seconds(), p.Runtime.Seconds(), lim.UsageTime.Seconds(), "s"},
		{ParamDisk, cur.DiskMB, p.DiskMB, lim.DiskMB, " MB"},
		{ParamCPU, cur.CPUPercent, p.CPUPercent, lim.CPUPercent, "%"},
		{ParamBandwidth, cur.BandwidthKbps, p.BandwidthKbps, lim.BandwidthKbps, " kbps"},
	}
	for _, k := range checks {
		if k.limit > 0 && k.cur+k.est > k.limit {
			return c.deny(d, ReasonOverLimit, k.param, k.cur, k.est, k.limit, k.unit)
		}
	}
	d.Allow, d.Reason = true, ReasonOK
	d.Message = fmt.Sprintf("%s: admitted within the SLA", app)
	return d
}

func (c *Controller) deny(d Decision, reason, param string, cur, est, limit float64, unit string) Decision {
	d.Reason, d.Parameter = reason, param
	d.Current, d.Estimate, d.Limit = round(cur), round(est), round(limit)
	d.Over = round(cur + est - limit)
	if reason == ReasonSessionOver {
		d.Message = fmt.Sprintf("%s: denied: usage_time is over: the session used %.0f%s of its %.0f%s", d.App, cur, unit, limit, unit)
		return d
	}
	d.Message = fmt.Sprintf("%s: denied: %s would reach %g%s (now %g%s + %g%s for %s) over the SLA limit %g%s by %g%s",
		d.App, param, d.Current+d.Estimate, unit, d.Current, unit, d.Estimate, unit, d.App, d.Limit, unit, d.Over, unit)
	return d
}

func (c *Controller) profile(app string) Profile {
	if c.cfg.Profiles != nil {
		if p, ok := c.cfg.Profiles.Profile(app); ok {
			if p.Processes == 0 {
				p.Processes = 1
			}
			return p
		}
	}
	p := c.cfg.Default
	p.App = app
	return p
}

func round(v float64) float64 {
	if v < 0 {
		return -round(-v)
	}
	return float64(int64(v*100+0.5)) / 100
}
