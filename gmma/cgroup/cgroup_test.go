package cgroup_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/igrid/igrid/gmma/cgroup"
	"github.com/igrid/igrid/gmma/gmmatest"
)

func TestMain(m *testing.M) {
	gmmatest.MaybeChild()
	os.Exit(m.Run())
}

func TestNewRejectsBadInput(t *testing.T) {
	cases := []struct {
		name string
		lim  cgroup.Limits
		want error
	}{
		{"", cgroup.Limits{}, cgroup.ErrBadName},
		{"a/b", cgroup.Limits{}, cgroup.ErrBadName},
		{"..", cgroup.Limits{}, cgroup.ErrBadName},
		{"ok", cgroup.Limits{MaxProcs: -1}, cgroup.ErrBadLimit},
		{"ok", cgroup.Limits{MemoryBytes: -5}, cgroup.ErrBadLimit},
		{"ok", cgroup.Limits{CPUPercent: -1}, cgroup.ErrBadLimit},
	}
	for _, c := range cases {
		t.Run(c.name+"/"+strings.ReplaceAll(c.want.Error(), " ", "_"), func(t *testing.T) {
			_, err := cgroup.New(c.name, c.lim, cgroup.Options{})
			if !errors.Is(err, c.want) {
				t.Fatalf("New(%q, %+v) = %v, want %v", c.name, c.lim, err, c.want)
			}
		})
	}
}

func versions(t *testing.T) []int {
	var out []int
	if v, err := cgroup.Detect(); err == nil && v == 1 {
		out = append(out, 1)
	}
	if _, err := os.Stat("/sys/fs/cgroup/unified/cgroup.controllers"); err == nil {
		out = append(out, 2)
	} else if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		out = append(out, 2)
	}
	if len(out) == 0 {
		t.Skip("no cgroup hierarchy mounted")
	}
	return out
}

func newGroup(t *testing.T, v int, lim cgroup.Limits) cgroup.Group {
	t.Helper()
	g, err := cgroup.New("s-"+gmmatest.Tag(4), lim, cgroup.Options{Version: v, Parent: "igrid-test"})
	if err != nil {
		t.Fatalf("New v%d: %v", v, err)
	}
	t.Cleanup(func() {
		if err := g.Delete(); err != nil {
			t.Errorf("Delete: %v", err)
		}
		if _, err := os.Stat(g.Dir()); !os.IsNotExist(err) {
			t.Errorf("group dir %s still there after Delete", g.Dir())
		}
	})
	return g
}

func TestLifecycle(t *testing.T) {
	gmmatest.RequireRoot(t)
	acct := gmmatest.NewAccount(t)
	for _, v := range versions(t) {
		t.Run("v"+string(rune('0'+v)), func(t *testing.T) {
			lim := cgroup.Limits{MemoryBytes: 64 << 20, MaxProcs: 50, CPUPercent: 50}
			g := newGroup(t, v, lim)
			if g.Version() != v {
				t.Fatalf("Version = %d, want %d", g.Version(), v)
			}
			if v == 1 {
				checkV1Limits(t, g)
			}
			t.Logf("v%d unenforced here: %v", v, g.Unenforced())
			p1 := gmmatest.Start(t, g, acct, "sleep", "60")
			p2 := gmmatest.Start(t, g, acct, "sleep", "61")
			gmmatest.CheckFor(t, 5*time.Second, "both sleeps in the group", func() bool {
				pids, _ := g.Pids()
				return contains(pids, p1.Pid()) && contains(pids, p2.Pid())
			})
			u, err := g.Usage()
			if err != nil || u.Pids < 2 {
				t.Fatalf("Usage = %+v, %v; want at least 2 pids", u, err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := g.Kill(ctx); err != nil {
				t.Fatal(err)
			}
			gmmatest.CheckFor(t, 5*time.Second, "sleeps reaped", func() bool { return p1.Exited() && p2.Exited() })
			if pids, _ := g.Pids(); len(pids) != 0 {
				t.Fatalf("after Kill pids = %v", pids)
			}
		})
	}
}

func checkV1Limits(t *testing.T, g cgroup.Group) {
	t.Helper()
	want := map[string]string{
		"memory.limit_in_bytes": "67108864",
		"pids.max":              "50",
		"cpu.cfs_quota_us":      "50000",
	}
	for file, val := range want {
		found := false
		for _, pf := range g.ProcsFiles() {
			b, err := os.ReadFile(filepath.Join(filepath.Dir(pf), file))
			if err == nil {
				found = true
				if got := strings.TrimSpace(string(b)); got != val {
					t.Errorf("%s = %s, want %s", file, got, val)
				}
			}
		}
		if !found {
			t.Errorf("%s not found in any hierarchy of %v", file, g.ProcsFiles())
		}
	}
}

func contains(s []int, x int) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// TestForkBombStopsAtPidLimit: a fork bomb run by the dynamic account
// never gets past pids.max; killing the bomb (its process group, the
// application) leaves the rest of the session alive, and the session runs
// new programs again.
func TestForkBombStopsAtPidLimit(t *testing.T) {
	gmmatest.RequireRoot(t)
	if v, _ := cgroup.Detect(); v == 2 && !controller("pids") {
		t.Skip("v2 without the pids controller: the kernel cannot hold a process limit here")
	}
	acct := gmmatest.NewAccount(t)
	const limit = 25
	g := newGroup(t, 0, cgroup.Limits{MaxProcs: limit})
	shell := gmmatest.Start(t, g, acct, "sleep", "300") // the session's other work
	bomb := gmmatest.Start(t, g, acct, "sh", "-c", "b() { b | b & }; b; sleep 30")
	var peak uint64
	gmmatest.CheckFor(t, 20*time.Second, "forks refused at the limit", func() bool {
		u, err := g.Usage()
		if err != nil {
			t.Fatal(err)
		}
		peak = max(peak, u.Pids)
		return u.PidsLimitHits > 0 || u.Pids >= limit
	})
	if peak > limit {
		t.Fatalf("pids.current peaked at %d, above the limit %d", peak, limit)
	}
	// Kill the application: every process of the bomb's process group.
	gmmatest.CheckFor(t, 10*time.Second, "bomb gone", func() bool {
		err := syscall.Kill(-bomb.Pid(), syscall.SIGKILL)
		return errors.Is(err, syscall.ESRCH) && bomb.Exited()
	})
	if shell.Exited() {
		t.Fatal("the session's other process died with the bomb")
	}
	after := gmmatest.Start(t, g, acct, "true")
	gmmatest.CheckFor(t, 5*time.Second, "a new program runs in the session", after.Exited)
	if !after.Cmd.ProcessState.Success() {
		t.Fatalf("after the bomb, `true` in the session: %v: %s", after.Cmd.ProcessState, after.Stderr.String())
	}
	if pids, _ := g.Pids(); len(pids) != 1 || pids[0] != shell.Pid() {
		t.Fatalf("after the bomb the session holds %v, want only %d", pids, shell.Pid())
	}
}

// TestMemoryHogStoppedByKernel: a process that allocates past the memory
// limit is OOM-killed by the kernel, not by us.
func TestMemoryHogStoppedByKernel(t *testing.T) {
	gmmatest.RequireRoot(t)
	if v, _ := cgroup.Detect(); v == 2 && !controller("memory") {
		t.Skip("v2 without the memory controller")
	}
	acct := gmmatest.NewAccount(t)
	g := newGroup(t, 0, cgroup.Limits{MemoryBytes: 48 << 20})
	hog := gmmatest.Start(t, g, acct, gmmatest.MemHog, "512")
	gmmatest.CheckFor(t, 30*time.Second, "memory hog killed", hog.Exited)
	if hog.Cmd.ProcessState.Success() {
		t.Fatal("memory hog exited cleanly; want a kill by the kernel")
	}
	u, _ := g.Usage()
	if u.OOMKills == 0 && u.MemoryFailCount == 0 {
		t.Fatalf("kernel reports no OOM kill and no limit hit: %+v", u)
	}
	t.Logf("hog ended by %v; usage %+v", hog.Cmd.ProcessState, u)
}

func controller(name string) bool {
	b, _ := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
	return strings.Contains(" "+string(b)+" ", " "+name+" ")
}

func TestStartIn(t *testing.T) {
	gmmatest.RequireRoot(t)
	for _, v := range versions(t) {
		t.Run("v"+string(rune('0'+v)), func(t *testing.T) {
			g := newGroup(t, v, cgroup.Limits{})
			cmd := exec.Command("sleep", "30")
			if err := cgroup.StartIn(cmd, g); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
			pids, err := g.Pids()
			if err != nil || !contains(pids, cmd.Process.Pid) {
				t.Fatalf("pids %v (%v) lack %d right after StartIn", pids, err, cmd.Process.Pid)
			}
		})
	}
}
