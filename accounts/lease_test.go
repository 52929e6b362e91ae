package accounts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// reopen makes a second manager over the same homes and lease map, as an
// agent restarted after a crash would.
func reopen(t *testing.T, m *Manager, prefix string, size int) *Manager {
	t.Helper()
	m2 := NewManager(m.cfg)
	must(t, m2.EnsurePool("eng", prefix, size))
	return m2
}

func TestLeaseSurvivesRestart(t *testing.T) {
	m := newTestManager(t, true, "r")
	must(t, m.EnsurePool("eng", "igt", 2))
	a1, err := m.BindUser("eng", "s1", "alice")
	must(t, err)
	must(t, os.WriteFile(filepath.Join(a1.Home, "work"), []byte("x"), 0o600))

	// The agent dies; a new one starts over the same state.
	m2 := reopen(t, m, "igt", 2)
	leases, err := m2.Recover()
	must(t, err)
	if len(leases) != 1 || leases[0].Session != "s1" || leases[0].Account != a1.Name || leases[0].State != LeaseBound || leases[0].User != "alice" || leases[0].Stale {
		t.Fatalf("Recover = %+v, want s1 bound to %s for alice", leases, a1.Name)
	}
	if _, err := os.Stat(filepath.Join(a1.Home, "work")); err != nil {
		t.Errorf("restart emptied the home of a bound account: %v", err)
	}
	if a, ok := m2.Lookup("s1"); !ok || a.Name != a1.Name {
		t.Errorf("Lookup(s1) after restart = %+v, %v", a, ok)
	}
	a2, err := m2.Bind("eng", "s2")
	must(t, err)
	if a2.Name == a1.Name {
		t.Fatalf("restarted agent handed out the bound account %s", a1.Name)
	}
	if _, err := m2.Bind("eng", "s3"); !errors.Is(err, ErrPoolExhausted) {
		t.Errorf("third bind = %v, want ErrPoolExhausted", err)
	}
	must(t, m2.Release("s1"))
	if _, ok := m.Lookup("s1"); ok {
		t.Error("the first manager still sees s1 after the second released it")
	}
	wantEmptyHome(t, a1.Home, a1.UID)
}

func TestBadSessionID(t *testing.T) {
	m := newTestManager(t, true, "")
	must(t, m.EnsurePool("eng", "igt", 1))
	for _, id := range []string{"", "../x", "a/b", ".hidden", "s 1"} {
		t.Run(id, func(t *testing.T) {
			if _, err := m.Bind("eng", id); !errors.Is(err, ErrBadSession) {
				t.Errorf("Bind(%q) = %v, want ErrBadSession", id, err)
			}
			if err := m.Release(id); !errors.Is(err, ErrBadSession) {
				t.Errorf("Release(%q) = %v, want ErrBadSession", id, err)
			}
		})
	}
	if a, err := m.Bind("eng", "ok"); err != nil || a == nil {
		t.Errorf("a bad id left the pool unusable: %v", err)
	}
}

func TestReleaseResumedAfterDeath(t *testing.T) {
	m := newTestManager(t, true, "")
	must(t, m.EnsurePool("eng", "igt", 1))
	a, err := m.Bind("eng", "s1")
	must(t, err)
	fillHome(t, a.Home)
	// A Release that died after taking the lease into releasing/.
	must(t, os.Rename(m.leases.path(dirSessions, "s1"), m.leases.path(dirReleasing, "s1")))

	m2 := reopen(t, m, "igt", 1)
	leases, err := m2.Recover()
	must(t, err)
	if len(leases) != 1 || leases[0].State != LeaseReleasing {
		t.Fatalf("Recover = %+v, want one releasing lease", leases)
	}
	if _, err := m2.Bind("eng", "s2"); !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("bind during a half-done release = %v, want ErrPoolExhausted", err)
	}
	must(t, m2.Release("s1"))
	wantEmptyHome(t, a.Home, a.UID)
	if b, err := m2.Bind("eng", "s2"); err != nil || b.Name != a.Name {
		t.Errorf("bind after the resumed release = %+v, %v", b, err)
	}
}

func TestOrphanLeaseFreedByRecover(t *testing.T) {
	m := newTestManager(t, true, "")
	must(t, m.EnsurePool("eng", "igt", 1))
	name := m.Accounts()[0].Name
	// A Bind that died after linking the account lease, before indexing it.
	tmp, err := m.leases.writeTmp(&Lease{Account: name, Class: "eng", Session: "lost"})
	must(t, err)
	must(t, os.Rename(tmp, m.leases.path(dirLeases, name)))
	if _, err := m.Bind("eng", "s1"); !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("bind over an orphan lease = %v, want ErrPoolExhausted", err)
	}
	leases, err := m.Recover()
	must(t, err)
	if len(leases) != 0 {
		t.Errorf("Recover reported %+v, want the orphan freed", leases)
	}
	if _, err := m.Bind("eng", "s1"); err != nil {
		t.Errorf("bind after Recover: %v", err)
	}
}

func TestQuarantine(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("chattr"); err != nil {
		t.Skip("needs chattr to make a file cleanup cannot remove")
	}
	old := KillTimeout
	KillTimeout = 100 * 1e6
	t.Cleanup(func() { KillTimeout = old })
	m := newTestManager(t, true, "")
	must(t, m.EnsurePool("eng", "igt", 2))
	a, err := m.Bind("eng", "s1")
	must(t, err)
	stuck := filepath.Join(a.Home, "stuck")
	must(t, os.WriteFile(stuck, []byte("x"), 0o600))
	if out, err := exec.Command("chattr", "+i", stuck).CombinedOutput(); err != nil {
		t.Skipf("chattr +i not supported here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", stuck).Run() })

	err = m.Release("s1")
	if !errors.Is(err, ErrCleanup) || !strings.Contains(err.Error(), a.Name) {
		t.Fatalf("Release of an uncleanable account = %v, want ErrCleanup naming %s", err, a.Name)
	}
	for _, mgr := range []*Manager{m, reopen(t, m, "igt", 2)} {
		q := mgr.Quarantined()
		if len(q) != 1 || q[0].Account != a.Name || q[0].Session != "s1" || !strings.Contains(q[0].Reason, "stuck") {
			t.Errorf("Quarantined = %+v, want %s with the reason", q, a.Name)
		}
		for i := range 2 {
			b, err := mgr.Bind("eng", fmt.Sprintf("n%d-%p", i, mgr))
			if err == nil && b.Name == a.Name {
				t.Errorf("a quarantined account was handed out")
			}
			if i == 1 && (!errors.Is(err, ErrPoolExhausted) || !strings.Contains(err.Error(), "1 quarantined")) {
				t.Errorf("bind with the rest in use = %v, want exhausted naming the quarantine", err)
			}
		}
		for _, l := range must1(mgr.Recover()) {
			if l.Account == a.Name && l.State != LeaseQuarantined {
				t.Errorf("lease of %s: state %q, want quarantined", a.Name, l.State)
			}
		}
	}
}

func must1[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestLeasesAcrossProcesses runs several agent processes (the test binary
// re-executed) with several goroutines each, binding and releasing one
// small pool through one lease map. Each holder marks its account with an
// O_EXCL file: a second holder at the same time fails to create it.
func TestLeasesAcrossProcesses(t *testing.T) {
	m := newTestManager(t, true, "x")
	must(t, m.EnsurePool("eng", "igt", 3))
	witness := t.TempDir()
	const procs = 4
	var wg sync.WaitGroup
	results := make([]string, procs)
	for i := range procs {
		wg.Go(func() {
			req, _ := json.Marshal(bindRequest{HomeRoot: m.cfg.HomeRoot, StateDir: m.cfg.StateDir, Prefix: "igt", Tag: "x",
				Witness: witness, Size: 3, Workers: 3, Cycles: 25, Name: fmt.Sprintf("p%d", i)})
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), childEnv+"=bind")
			cmd.Stdin = bytes.NewReader(req)
			out, err := cmd.Output()
			if err != nil {
				t.Errorf("child %d: %v", i, err)
			}
			results[i] = string(out)
		})
	}
	wg.Wait()
	total := 0
	for i, r := range results {
		var res struct {
			Bound  int
			Errors []string
		}
		if err := json.Unmarshal([]byte(r), &res); err != nil {
			t.Fatalf("child %d said %q: %v", i, r, err)
		}
		for _, e := range res.Errors {
			t.Errorf("child %d: %s", i, e)
		}
		total += res.Bound
	}
	if total < procs*3 {
		t.Errorf("only %d binds succeeded across %d processes; the pool should have served many", total, procs)
	}
	leases, err := m.Recover()
	must(t, err)
	if len(leases) != 0 {
		t.Errorf("leases left after every child released: %+v", leases)
	}
}
