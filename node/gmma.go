package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/igrid/igrid/gmma"
	"github.com/igrid/igrid/gmma/cgroup"
	"github.com/igrid/igrid/gmma/sensor"
	"github.com/igrid/igrid/internal/bus"
	"github.com/igrid/igrid/internal/proto"
	"github.com/igrid/igrid/policies"
	"github.com/igrid/igrid/sac"
)

// SACSocketName is the node agent's SAC socket, under DataDir.
const SACSocketName = "sac.sock"

// gmmaNode is the node's GMMA chain: session cgroups, the monitoring agent,
// the node aggregator, the enforcer, the predictor, SAC and /metrics.
type gmmaNode struct {
	log     *slog.Logger
	mon     *gmma.Monitor
	agg     *gmma.NodeAggregator
	enf     *gmma.Enforcer
	pred    *gmma.Predictor
	metrics *gmma.Metrics
	reg     *prometheus.Registry
	sac     *sac.Server
	httpSrv *http.Server
	httpLn  net.Listener
	stop    chan struct{}
	wg      sync.WaitGroup

	mu     sync.Mutex
	groups map[string]cgroup.Group
	uids   map[string]uint32
}

// startGMMA starts the chain once NATS is up.
func (a *Agent) startGMMA() error {
	g := &gmmaNode{log: a.log.With("component", "gmma"), reg: prometheus.NewRegistry(),
		groups: map[string]cgroup.Group{}, uids: map[string]uint32{}, stop: make(chan struct{})}
	g.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	g.metrics = gmma.NewMetrics(g.reg)
	var err error
	if g.mon, err = gmma.NewMonitor(gmma.MonitorConfig{Node: a.cfg.Name, Cluster: a.cfg.Cluster,
		Interval: a.cfg.SampleInterval, Conn: a.nc, Logger: g.log}); err != nil {
		return err
	}
	if g.agg, err = gmma.NewNodeAggregator(gmma.NodeAggregatorConfig{Node: a.cfg.Name, Cluster: a.cfg.Cluster,
		Conn: a.nc, Logger: g.log}); err != nil {
		return err
	}
	g.pred = gmma.NewPredictor(gmma.PredictorConfig{MaxChange: 0.2, Write: a.publishProfile})
	if g.enf, err = gmma.NewEnforcer(gmma.EnforcerConfig{Node: a.cfg.Name, Conn: a.nc, Logger: g.log,
		OnAct: g.metrics.Acted,
		Hooks: gmma.Hooks{
			Warn: func(id, msg string) {
				a.ssh.Warn(id, msg)
				a.notifyWarn(id, msg)
			},
			EndSession: func(id, why string) {
				go a.track(func() { _ = a.endSession(id, "enforcer: "+why) })
			},
		}}); err != nil {
		return err
	}
	for _, c := range []func(gmma.Sample){g.metrics.Observe, g.agg.Observe, g.enf.Observe, g.pred.Observe} {
		g.mon.Subscribe(c)
	}
	if err := g.startSAC(a); err != nil {
		return err
	}
	if err := g.startHTTP(a.cfg.MetricsAddr); err != nil {
		return err
	}
	a.gmma = g
	g.wg.Add(1)
	go g.adoptLoop(a.cfg.SampleInterval)
	return g.mon.Start()
}

func (g *gmmaNode) startSAC(a *Agent) error {
	ctl, err := sac.New(sac.Config{State: gmma.SACState{M: g.mon}, Profiles: g.pred, Default: sac.Profile{CPUPercent: 10}})
	if err != nil {
		return err
	}
	g.sac, err = sac.NewServer(sac.ServerConfig{Path: filepath.Join(a.cfg.DataDir, SACSocketName), Controller: ctl,
		Sessions: sac.ResolverFunc(g.sessionForUID), Logger: g.log, Stage: a.stageUserBinary,
		Audit: func(uid uint32, d sac.Decision) {
			g.log.Info("sac decision", "session", d.Session, "uid", uid, "app", d.App, "allow", d.Allow,
				"reason", d.Reason, "parameter", d.Parameter)
		}})
	if err != nil {
		return err
	}
	return g.sac.Start()
}

func (g *gmmaNode) startHTTP(addr string) error {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", gmma.Handler(g.reg))
	g.httpLn, g.httpSrv = ln, &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = g.httpSrv.Serve(ln) }()
	return nil
}

func (g *gmmaNode) sessionForUID(uid uint32) (string, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for id, u := range g.uids {
		if u == uid {
			return id, true
		}
	}
	return "", false
}

// predictEvery is how many samples pass between predictor updates.
const predictEvery = 30

// adoptLoop moves the accounts' stray processes into their session groups
// every sample and refreshes the application profiles every predictEvery.
func (g *gmmaNode) adoptLoop(every time.Duration) {
	defer g.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-g.stop:
			return
		case <-t.C:
		}
		if n%predictEvery == 0 {
			if ch, err := g.pred.Update(); err != nil {
				g.log.Warn("predictor update", "err", err)
			} else if len(ch) > 0 {
				g.log.Debug("application profiles moved", "changed", len(ch))
			}
		}
		g.mu.Lock()
		for id, grp := range g.groups {
			if n, err := gmma.AdoptByUID(grp, g.uids[id], ""); err == nil && n > 0 {
				g.log.Debug("adopted processes into the session cgroup", "session", id, "moved", n)
			}
		}
		g.mu.Unlock()
	}
}

// sessionStarted creates the session cgroup with the SLA's kernel limits and
// starts watching the session. Without privilege there is no cgroup and the
// session is not monitored (logged).
func (g *gmmaNode) sessionStarted(id string, uid, gid uint32, home string, st *proto.StartSession, class *policies.Class) error {
	if g == nil {
		return nil
	}
	sla := gmma.FromProto(st.SLA, st.Start)
	if sla.UsageTime == 0 {
		sla.UsageTime = st.End.Sub(st.Start)
	}
	lim := cgroup.Limits{MemoryBytes: int64(st.SLA.MemoryMB) << 20, MaxProcs: int64(st.SLA.MaxProcesses), CPUPercent: st.SLA.CPUPercent}
	grp, err := cgroup.New(id, lim, cgroup.Options{})
	if errors.Is(err, cgroup.ErrNotRoot) {
		g.log.Warn("no session cgroup: the node agent is not root; GMMA does not watch this session", "session", id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("session %s: cgroup: %w", id, err)
	}
	if err := grp.Delegate(int(uid), int(gid)); err != nil {
		_ = grp.Delete()
		return err
	}
	if err := g.mon.Watch(id, sensor.Target{Group: grp, DiskPaths: []string{home}}, sla); err != nil {
		_ = grp.Delete()
		return err
	}
	g.enf.SetPolicy(id, EnforcePolicyOf(class))
	g.enf.Arm(id, sla)
	g.mu.Lock()
	g.groups[id], g.uids[id] = grp, uid
	g.mu.Unlock()
	g.log.Info("session cgroup created", "session", id, "version", grp.Version(), "dir", grp.Dir(), "unenforced", grp.Unenforced())
	return nil
}

// sessionEnded stops watching, kills what is left in the group and removes it.
func (g *gmmaNode) sessionEnded(id string) error {
	if g == nil {
		return nil
	}
	g.mon.Unwatch(id)
	g.enf.Disarm(id)
	g.agg.Forget(id)
	g.metrics.Forget(id)
	g.mu.Lock()
	grp := g.groups[id]
	delete(g.groups, id)
	delete(g.uids, id)
	g.mu.Unlock()
	if grp == nil {
		return nil
	}
	return grp.Delete()
}

// SessionCgroup returns a running session's cgroup (for GISH's helper to join).
func (a *Agent) SessionCgroup(id string) (cgroup.Group, bool) {
	if a.gmma == nil {
		return nil, false
	}
	a.gmma.mu.Lock()
	defer a.gmma.mu.Unlock()
	g, ok := a.gmma.groups[id]
	return g, ok
}

// SACSocket is the path of the node's SAC socket ("" before Start).
func (a *Agent) SACSocket() string {
	if a.gmma == nil || a.gmma.sac == nil {
		return ""
	}
	return a.gmma.sac.Addr()
}

// MetricsAddr is where /metrics listens ("" when not configured).
func (a *Agent) MetricsAddr() string {
	if a.gmma == nil || a.gmma.httpLn == nil {
		return ""
	}
	return a.gmma.httpLn.Addr().String()
}

// Monitor is the node's monitoring agent (nil before Start).
func (a *Agent) Monitor() *gmma.Monitor {
	if a.gmma == nil {
		return nil
	}
	return a.gmma.mon
}

func (g *gmmaNode) shutdown(ctx context.Context) error {
	close(g.stop)
	g.wg.Wait()
	errs := []error{g.mon.Shutdown(ctx), g.sac.Shutdown(ctx)}
	if g.httpSrv != nil {
		errs = append(errs, g.httpSrv.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// notifyWarn publishes an enforcer warning as a notification of the
// session's user (igrid.notify.<user>.<session>.warn), beside the terminals.
func (a *Agent) notifyWarn(id, msg string) {
	s := a.getSession(id)
	if s == nil || a.nc == nil {
		return
	}
	b, _ := json.Marshal(map[string]any{"event": "warn", "source": "gmma", "session": id,
		"user": s.binding.User, "node": a.cfg.Name, "time": time.Now().UTC(), "message": msg})
	_ = a.nc.Publish(bus.NotifySubject(s.binding.User, id, "warn"), b)
}

// EnforcePolicyOf turns a class's session and QoS policies into the
// enforcer's thresholds and actions. policies.Action names map as: renice →
// renice only; kill_application → renice, then kill when far over; warn;
// none; end_session → end. Disk and bandwidth have no per-application
// attribution, so kill_application there ends nothing and only warns;
// throttle (no bandwidth shaper yet) warns too.
func EnforcePolicyOf(c *policies.Class) gmma.EnforcePolicy {
	var p gmma.EnforcePolicy
	if c == nil {
		return p
	}
	if c.QoS.TolerancePercent > 0 {
		p.ReniceAbove = 1 + float64(c.QoS.TolerancePercent)/100
	}
	if c.QoS.Grace > 0 {
		p.KillGrace, p.DiskGrace = c.QoS.Grace.D(), c.QoS.Grace.D()
	}
	cpu := c.QoS.OnExceed.CPU
	if cpu == "" {
		cpu = c.Session.OnViolation.CPU
	}
	p.CPUAction = map[policies.Action]gmma.Action{"renice": "renice", "kill_application": gmma.ActionKill,
		"warn": gmma.ActionWarn, "none": "none", "end_session": gmma.ActionEnd, "throttle": "renice"}[cpu]
	wide := func(a policies.Action) gmma.Action {
		if a == "end_session" {
			return gmma.ActionEnd
		}
		return gmma.ActionWarn
	}
	p.DiskAction = wide(c.Session.OnViolation.DiskQuota)
	bw := c.QoS.OnExceed.Bandwidth
	if bw == "" {
		bw = c.Session.OnViolation.Bandwidth
	}
	p.BandwidthAct = wide(bw)
	return p
}

// joinSessionCgroup puts a just-started GISH (and so everything it will
// start) into the session's cgroup. Without a cgroup (not root, or GMMA
// off) there is nothing to join.
func (a *Agent) joinSessionCgroup(id string, pid int) error {
	g, ok := a.SessionCgroup(id)
	if !ok {
		return nil
	}
	if err := g.Add(pid); err != nil {
		return fmt.Errorf("session %s: join cgroup: %w", id, err)
	}
	return nil
}

// publishProfile sends a profile the predictor moved to the DRM, whose
// profile store feeds admission and SAC estimates grid-wide.
func (a *Agent) publishProfile(p sac.Profile) error {
	if a.nc == nil {
		return nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return a.nc.Publish(bus.ProfileSubject, b)
}
