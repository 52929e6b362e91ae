package sac_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/igrid/igrid/gmma/gmmatest"
	"github.com/igrid/igrid/internal/testutil"
	"github.com/igrid/igrid/sac"
)

const envAsk = "SAC_TEST_ASK"

func TestMain(m *testing.M) {
	if sock := os.Getenv(envAsk); sock != "" {
		d, err := sac.Ask(sock, "python3", []string{"python3", "-c", "1"})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		_ = json.NewEncoder(os.Stdout).Encode(d)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type uidMap struct {
	mu sync.Mutex
	m  map[uint32]string
}

func (u *uidMap) SessionForUID(uid uint32) (string, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	s, ok := u.m[uid]
	return s, ok
}

func startServer(t *testing.T, uids *uidMap, cur sac.Current) (string, func() []sac.Decision) {
	t.Helper()
	return startServerWith(t, uids, cur, nil)
}

// startServerWith starts a server and returns its socket and the
// decisions audited so far (the server audits a decision just after its
// reply is written: wait for a count with auditCount).
func startServerWith(t *testing.T, uids *uidMap, cur sac.Current, stage sac.StageFunc) (string, func() []sac.Decision) {
	t.Helper()
	dir, err := os.MkdirTemp("", "sac")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	ctl, _ := sac.New(sac.Config{
		State:    staticState{"s-1": {limits, cur}},
		Profiles: profiles{"python3": {CPUPercent: 80}},
	})
	var mu sync.Mutex
	var audit []sac.Decision
	srv, err := sac.NewServer(sac.ServerConfig{
		Path: filepath.Join(dir, "sac.sock"), Controller: ctl, Sessions: uids, Stage: stage,
		Audit: func(_ uint32, d sac.Decision) { mu.Lock(); audit = append(audit, d); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	return srv.Addr(), func() []sac.Decision { mu.Lock(); defer mu.Unlock(); return slices.Clone(audit) }
}

// auditCount waits until audit holds n decisions, failing if it never
// does or holds more.
func auditCount(t *testing.T, audit func() []sac.Decision, n int) {
	t.Helper()
	testutil.CheckFor(t, 5*time.Second, func() error {
		if got := len(audit()); got != n {
			return fmt.Errorf("audit has %d decisions, want %d", got, n)
		}
		return nil
	})
}

func TestServerIdentifiesCallerByPeerCred(t *testing.T) {
	uids := &uidMap{m: map[uint32]string{uint32(os.Getuid()): "s-1"}}
	sock, audit := startServer(t, uids, sac.Current{CPUPercent: 100})
	d, err := sac.Ask(sock, "python3", nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Allow || d.Parameter != sac.ParamCPU || d.Session != "s-1" || d.Current != 100 || d.Estimate != 80 || d.Limit != 150 || d.Over != 30 {
		t.Fatalf("decision = %+v", d)
	}
	auditCount(t, audit, 1)
	uids.mu.Lock()
	uids.m = map[uint32]string{}
	uids.mu.Unlock()
	d, _ = sac.Ask(sock, "python3", nil)
	if d.Allow || d.Reason != sac.ReasonUnknownCaller {
		t.Fatalf("a uid with no session: %+v", d)
	}
}

func TestServerRejectsBadLines(t *testing.T) {
	sock, _ := startServer(t, &uidMap{m: map[uint32]string{uint32(os.Getuid()): "s-1"}}, sac.Current{})
	cases := map[string]string{
		"not json":      "hello\n",
		"empty app":     `{"app":""}` + "\n",
		"unknown field": `{"app":"vim","uid":0}` + "\n",
		"too long":      `{"app":"` + strings.Repeat("a", 70<<10) + `"}` + "\n",
	}
	for name, line := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := net.Dial("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			go func() { _, _ = c.Write([]byte(line)) }()
			var d sac.Decision
			if err := json.NewDecoder(c).Decode(&d); err != nil {
				t.Fatal(err)
			}
			if d.Allow || d.Reason != sac.ReasonBadRequest {
				t.Fatalf("reply = %+v, want bad_request", d)
			}
		})
	}
}

// TestServerRealAccount: a process running as a real dynamic account asks;
// the server maps its uid to its session, whatever the process claims.
func TestServerRealAccount(t *testing.T) {
	acct := gmmatest.NewAccount(t)
	sock, _ := startServer(t, &uidMap{m: map[uint32]string{uint32(acct.UID): "s-1"}}, sac.Current{CPUPercent: 100})
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = []string{envAsk + "=" + sock}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(acct.UID), Gid: uint32(acct.GID)}}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ask as %s: %v", acct.Name, err)
	}
	var d sac.Decision
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatal(err)
	}
	if d.Allow || d.Session != "s-1" || d.Parameter != sac.ParamCPU || d.Over != 30 {
		t.Fatalf("decision for %s = %+v", acct.Name, d)
	}
}
