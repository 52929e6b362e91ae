package gmma_test

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/igrid/igrid/gmma"
	"github.com/igrid/igrid/gmma/cgroup"
	"github.com/igrid/igrid/gmma/gmmatest"
	"github.com/igrid/igrid/gmma/sensor"
	"github.com/igrid/igrid/internal/bus"
	"github.com/igrid/igrid/sac"
)

func TestMain(m *testing.M) {
	gmmatest.MaybeChild()
	os.Exit(m.Run())
}

// rig is one session on a real cgroup with a monitor and an enforcer.
type rig struct {
	t     *testing.T
	acct  *gmmatest.Account
	group cgroup.Group
	mon   *gmma.Monitor
	enf   *gmma.Enforcer
	sla   gmma.SLA

	mu     sync.Mutex
	seq    uint64 // sample being observed
	seen   map[int]uint64
	over   map[int]uint64 // pid → first sample where its app was measured over the SLA CPU
	events []actedAt
	warns  []string
	ended  chan string
}

type actedAt struct {
	ev  gmma.AuditEvent
	seq uint64
}

const sessionID = "s-test"

func newRig(t *testing.T, sla gmma.SLA, pol gmma.EnforcePolicy, lim cgroup.Limits) *rig {
	t.Helper()
	r := &rig{t: t, acct: gmmatest.NewAccount(t), sla: sla, seen: map[int]uint64{}, over: map[int]uint64{}, ended: make(chan string, 1)}
	g, err := cgroup.New("s-"+gmmatest.Tag(4), lim, cgroup.Options{Parent: "igrid-test"})
	if err != nil {
		t.Fatal(err)
	}
	r.group = g
	t.Cleanup(func() {
		if err := g.Delete(); err != nil {
			t.Errorf("delete cgroup: %v", err)
		}
	})
	r.mon, err = gmma.NewMonitor(gmma.MonitorConfig{Node: "node-t", Cluster: "c1", Interval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r.enf, err = gmma.NewEnforcer(gmma.EnforcerConfig{
		Node: "node-t", Policy: pol,
		Hooks: gmma.Hooks{
			Warn: func(_, msg string) { r.mu.Lock(); r.warns = append(r.warns, msg); r.mu.Unlock() },
			EndSession: func(s, reason string) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = g.Kill(ctx)
				r.ended <- reason
			},
		},
		OnAct: func(ev gmma.AuditEvent) {
			r.mu.Lock()
			r.events = append(r.events, actedAt{ev, r.seq})
			r.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	r.mon.Subscribe(func(s gmma.Sample) {
		r.mu.Lock()
		r.seq = s.Seq
		for _, su := range s.Sessions {
			appCPU := map[string]float64{}
			for _, a := range su.Apps {
				appCPU[a.App] = a.CPUPercent
			}
			for _, p := range su.Procs {
				if _, ok := r.seen[p.PID]; !ok {
					r.seen[p.PID] = s.Seq
				}
				if _, ok := r.over[p.PID]; !ok && appCPU[p.App] > float64(sla.CPUPercent) {
					r.over[p.PID] = s.Seq
				}
			}
		}
		r.mu.Unlock()
	})
	r.mon.Subscribe(r.enf.Observe)
	if err := r.mon.Watch(sessionID, sensor.Target{Group: g}, sla); err != nil {
		t.Fatal(err)
	}
	r.enf.Arm(sessionID, sla)
	if err := r.mon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.mon.Shutdown(context.Background()); r.enf.Disarm(sessionID) })
	return r
}

func (r *rig) event(action gmma.Action, pid int) (actedAt, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.events {
		if e.ev.Action != action {
			continue
		}
		for _, p := range e.ev.PIDs {
			if p == pid || pid == 0 {
				return e, true
			}
		}
		if pid == 0 {
			return e, true
		}
	}
	return actedAt{}, false
}

func niceOf(t *testing.T, pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	n, _ := strconv.Atoi(f[16])
	return n
}

// TestCPUHogRenicedWithinOneSample: a hog above its share is reniced in the
// very sample that first measures it over (one sample period at most after
// it starts spinning).
func TestCPUHogRenicedWithinOneSample(t *testing.T) {
	gmmatest.RequireRoot(t)
	r := newRig(t, gmma.SLA{CPUPercent: 30, Start: time.Now(), UsageTime: time.Hour},
		gmma.EnforcePolicy{KillAbove: 100}, cgroup.Limits{})
	hog := gmmatest.Start(t, r.group, r.acct, gmmatest.CPUHog)
	var ev actedAt
	gmmatest.CheckFor(t, 10*time.Second, "renice of the hog", func() bool {
		var ok bool
		ev, ok = r.event(gmma.ActionReniceDown, hog.Pid())
		return ok
	})
	r.mu.Lock()
	first, over := r.seen[hog.Pid()], r.over[hog.Pid()]
	r.mu.Unlock()
	if ev.seq != over || over == 0 {
		t.Fatalf("reniced at sample %d, first measured over its share at sample %d (seen at %d): want the same sample", ev.seq, over, first)
	}
	if got := niceOf(t, hog.Pid()); got < 5 {
		t.Fatalf("hog nice = %d, want ≥ 5", got)
	}
	if ev.ev.Measured <= ev.ev.Share || ev.ev.Parameter != "cpu_percent" || ev.ev.Reason != gmma.ReasonCPUOverShare {
		t.Fatalf("audit event lacks the measurement: %+v", ev.ev)
	}
	if _, killed := r.event(gmma.ActionKill, hog.Pid()); killed || hog.Exited() {
		t.Fatal("hog killed though it is not far over (kill threshold 100× its share)")
	}
}

// TestCPUHogFarOverKilled: a hog far over its share past the grace period is killed.
func TestCPUHogFarOverKilled(t *testing.T) {
	gmmatest.RequireRoot(t)
	r := newRig(t, gmma.SLA{CPUPercent: 10, Start: time.Now(), UsageTime: time.Hour},
		gmma.EnforcePolicy{KillAbove: 2, KillGrace: 400 * time.Millisecond}, cgroup.Limits{})
	hog := gmmatest.Start(t, r.group, r.acct, gmmatest.CPUHog)
	gmmatest.CheckFor(t, 15*time.Second, "hog killed", hog.Exited)
	ev, ok := r.event(gmma.ActionKill, hog.Pid())
	if !ok {
		t.Fatal("hog exited without a kill audit event")
	}
	if ev.ev.Measured <= 2*ev.ev.Share || ev.ev.Reason != gmma.ReasonCPUFarOver {
		t.Fatalf("kill event: %+v", ev.ev)
	}
	if _, ok := r.event(gmma.ActionReniceDown, hog.Pid()); !ok {
		t.Fatal("want a renice before the kill")
	}
}

// TestUsageTimeEndsSessionWithoutDRM: past its usage time the session's
// processes are gone; the enforcer acts on the node alone (the bus is down).
func TestUsageTimeEndsSessionWithoutDRM(t *testing.T) {
	gmmatest.RequireRoot(t)
	ns, err := bus.StartEmbedded(bus.EmbeddedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := bus.Connect(ns.URL(), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ns.Shutdown() // no DRM, no NATS: the node is on its own
	r := newRig(t, gmma.SLA{UsageTime: 1500 * time.Millisecond, Start: time.Now()}, gmma.EnforcePolicy{WarnBefore: time.Second}, cgroup.Limits{})
	p1 := gmmatest.Start(t, r.group, r.acct, "sleep", "300")
	p2 := gmmatest.Start(t, r.group, r.acct, "sh", "-c", "sleep 300 & sleep 301")
	select {
	case reason := <-r.ended:
		if reason != gmma.ReasonUsageTimeOver {
			t.Fatalf("ended for %q", reason)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("session not ended at its usage time")
	}
	gmmatest.CheckFor(t, 10*time.Second, "session processes gone", func() bool {
		pids, _ := r.group.Pids()
		return len(pids) == 0 && p1.Exited() && p2.Exited()
	})
	if _, ok := r.event(gmma.ActionEnd, 0); !ok {
		t.Fatal("no end audit event")
	}
	if _, ok := r.event(gmma.ActionWarn, 0); !ok {
		t.Fatal("no warning before the end")
	}
}

// TestSACDeniesLaunchPastCPULimit: with a hog measured by GMMA, SAC refuses
// another CPU-heavy application and says by how much it would pass the limit.
func TestSACDeniesLaunchPastCPULimit(t *testing.T) {
	gmmatest.RequireRoot(t)
	r := newRig(t, gmma.SLA{CPUPercent: 100, Start: time.Now(), UsageTime: time.Hour}, gmma.EnforcePolicy{KillAbove: 100, ReniceAbove: 100}, cgroup.Limits{})
	gmmatest.Start(t, r.group, r.acct, gmmatest.CPUHog)
	ctl, err := sac.New(sac.Config{State: gmma.SACState{M: r.mon}, Profiles: staticProfiles{"python3": {CPUPercent: 80}}})
	if err != nil {
		t.Fatal(err)
	}
	gmmatest.CheckFor(t, 10*time.Second, "hog measured", func() bool {
		u, _, _ := r.mon.Latest(sessionID)
		return u.CPUPercent > 20
	})
	d := ctl.Decide(sessionID, sac.Request{App: "/usr/bin/python3"})
	if d.Allow || d.Parameter != sac.ParamCPU || d.Estimate != 80 || d.Limit != 100 || d.Over <= 0 || d.Current < 20 {
		t.Fatalf("decision = %+v", d)
	}
	b, _ := json.Marshal(d)
	t.Logf("SAC: %s", b)
	if d2 := ctl.Decide(sessionID, sac.Request{App: "vim"}); !d2.Allow {
		t.Fatalf("a light app must pass: %+v", d2)
	}
}

type staticProfiles map[string]sac.Profile

func (p staticProfiles) Profile(app string) (sac.Profile, bool) { v, ok := p[app]; return v, ok }
