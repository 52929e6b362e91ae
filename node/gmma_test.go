package node

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/igrid/igrid/gmma"
	"github.com/igrid/igrid/gmma/cgroup"
	"github.com/igrid/igrid/gmma/sensor"
	"github.com/igrid/igrid/internal/bus"
	"github.com/igrid/igrid/internal/proto"
	"github.com/igrid/igrid/policies"
	"github.com/igrid/igrid/sac"
	"github.com/nats-io/nats.go"
)

// TestSessionCgroupAndGMMA: a started session gets a cgroup with its SLA's
// process limit; a process of its account is adopted into it and counted by
// the monitoring agent; /metrics shows the session; SAC answers on the
// node's socket; ending the session removes the group.
func TestSessionCgroupAndGMMA(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a real session cgroup and runs a process as the dynamic account")
	}
	n := startNode(t)
	now := time.Now()
	cmd := n.startCmd("s-gmma1", "alice", now.Add(-time.Second), now.Add(time.Hour))
	cmd.Start.SLA.MaxProcesses = 40
	cmd.Start.SLA.CPUPercent = 50
	cmd.Start.SLA.DiskMB = 1
	notes, err := n.nc.SubscribeSync("igrid.notify.alice.s-gmma1.warn")
	if err != nil {
		t.Fatal(err)
	}
	audit, err := n.nc.SubscribeSync(bus.AuditSubject("tn"))
	if err != nil {
		t.Fatal(err)
	}
	if r := n.request(t, cmd); r.Error != "" {
		t.Fatal(r.Error)
	}
	grp, ok := n.SessionCgroup("s-gmma1")
	if !ok {
		t.Fatal("no session cgroup")
	}
	acct, _ := n.Accounts().Lookup("s-gmma1")
	if grp.Version() == 1 {
		b, err := os.ReadFile(filepath.Join(grp.Dir(), "pids.max"))
		if err != nil || strings.TrimSpace(string(b)) != "40" {
			t.Fatalf("pids.max = %q, %v; want 40", b, err)
		}
	}
	sleeper := exec.Command("sleep", "60")
	sleeper.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: acct.UID, Gid: acct.GID}}
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sleeper.Process.Kill(); _, _ = sleeper.Process.Wait() }()
	checkFor(t, 10*time.Second, func() error {
		u, _, ok := n.Monitor().Latest("s-gmma1")
		if !ok || u.Processes < 1 {
			return fmt.Errorf("monitor sees %+v", u)
		}
		return nil
	})
	// Network bytes: counted by the cgroup-BPF programs on the session's
	// v2 group (the hybrid companion here), not the TCP-only fallback.
	netDir := cgroup.NetDir(grp)
	if netDir != "" {
		if u, _, _ := n.Monitor().Latest("s-gmma1"); u.NetMethod != sensor.NetCgroupSKB {
			t.Fatalf("session network bytes by %q (%s), want %s", u.NetMethod, u.NetNote, sensor.NetCgroupSKB)
		}
	}
	rec := httptest.NewRecorder()
	gmma.Handler(n.gmma.reg).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if !strings.Contains(string(body), `igrid_gmma_session_limit{parameter="processes",session="s-gmma1"} 40`) {
		t.Fatalf("/metrics lacks the session's process limit:\n%s", body)
	}
	// Past the disk quota: a warning reaches the user as a notification and
	// the audit trail carries the measurement.
	if err := os.WriteFile(filepath.Join(acct.Home, "big"), make([]byte, 2<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	msg, err := notes.NextMsg(15 * time.Second)
	if err != nil || !strings.Contains(string(msg.Data), "disk_mb") {
		t.Fatalf("disk warning notification: %v %s", err, msgData(msg))
	}
	var ev gmma.AuditEvent
	for {
		m, err := audit.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("no disk audit event: %v", err)
		}
		if json.Unmarshal(m.Data, &ev) == nil && ev.Parameter == "disk_mb" {
			break
		}
	}
	if ev.Action != gmma.ActionWarn || ev.Measured < 2 || ev.Limit != 1 || ev.Session != "s-gmma1" {
		t.Fatalf("disk audit event = %+v", ev)
	}
	d, err := sac.Ask(n.SACSocket(), "vim", nil)
	if err != nil || d.Reason != sac.ReasonUnknownCaller {
		t.Fatalf("SAC for root (no session) = %+v, %v", d, err)
	}
	n.end(t, "s-gmma1")
	if _, err := os.Stat(grp.Dir()); !os.IsNotExist(err) {
		t.Fatalf("cgroup %s still there after the end", grp.Dir())
	}
	if _, err := os.Stat(netDir); netDir != "" && !os.IsNotExist(err) {
		t.Fatalf("network group %s still there after the end", netDir)
	}
	if _, err := sleeper.Process.Wait(); err != nil {
		t.Fatal(err)
	}
}

func msgData(m *nats.Msg) string {
	if m == nil {
		return ""
	}
	return string(m.Data)
}

func TestEnforcePolicyOf(t *testing.T) {
	cases := []struct {
		name string
		c    *policies.Class
		want gmma.EnforcePolicy
	}{
		{"nil class: defaults", nil, gmma.EnforcePolicy{}},
		{"qos kill with tolerance and grace", &policies.Class{QoS: policies.QoSPolicy{TolerancePercent: 25, Grace: proto.Duration(5 * time.Second),
			OnExceed: policies.QoSActions{CPU: "kill_application", Bandwidth: "end_session"}}},
			gmma.EnforcePolicy{ReniceAbove: 1.25, KillGrace: 5 * time.Second, DiskGrace: 5 * time.Second, CPUAction: gmma.ActionKill,
				DiskAction: gmma.ActionWarn, BandwidthAct: gmma.ActionEnd}},
		{"session violation actions", &policies.Class{Session: policies.SessionLimits{OnViolation: policies.Violations{CPU: "renice", DiskQuota: "end_session"}}},
			gmma.EnforcePolicy{CPUAction: "renice", DiskAction: gmma.ActionEnd, BandwidthAct: gmma.ActionWarn}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := EnforcePolicyOf(c.c); got != c.want {
				t.Fatalf("EnforcePolicyOf = %+v, want %+v", got, c.want)
			}
		})
	}
}
