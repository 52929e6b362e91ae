package cgroup_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/containerd/cgroups/v3"

	"github.com/igrid/igrid/gmma/cgroup"
	"github.com/igrid/igrid/gmma/gmmatest"
)

// inNetGroup reports whether pid's v2 group (the "0::" line) is dir.
func inNetGroup(t *testing.T, pid int, mount, dir string) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(l, "0::"); ok {
			return filepath.Join(mount, p) == dir
		}
	}
	return false
}

func TestNetCompanionOnHybrid(t *testing.T) {
	gmmatest.RequireRoot(t)
	if cgroups.Mode() != cgroups.Hybrid {
		t.Skip("the v2 network companion exists on hybrid hosts only (this one is not)")
	}
	const mount = "/sys/fs/cgroup/unified"
	acct := gmmatest.NewAccount(t)
	var dir string
	t.Cleanup(func() { // runs after newGroup's Delete (cleanups run last first)
		if _, err := os.Stat(dir); dir != "" && !os.IsNotExist(err) {
			t.Errorf("network group %s still there after Delete", dir)
		}
	})
	g := newGroup(t, 1, cgroup.Limits{MaxProcs: 20})
	dir = cgroup.NetDir(g)
	if dir == "" || filepath.Dir(filepath.Dir(dir)) != mount {
		t.Fatalf("NetDir = %q, want a group under %s", dir, mount)
	}
	t.Run("Start clones into it", func(t *testing.T) {
		p := gmmatest.Start(t, g, acct, "sleep", "60")
		gmmatest.CheckFor(t, 5e9, "child in the v1 group", func() bool {
			pids, _ := g.Pids()
			return slices.Contains(pids, p.Pid())
		})
		if !inNetGroup(t, p.Pid(), mount, dir) {
			t.Fatalf("pid %d is not in the network group %s", p.Pid(), dir)
		}
	})
	t.Run("SyncNet moves a process that joined v1 only", func(t *testing.T) {
		other := newGroup(t, 1, cgroup.Limits{})
		p := gmmatest.Start(t, other, acct, "sleep", "60")
		// Move it into g's v1 groups only, behind Add's back.
		for _, f := range g.ProcsFiles() {
			if err := os.WriteFile(f, []byte(strconv.Itoa(p.Pid())), 0); err != nil {
				t.Fatal(err)
			}
		}
		if inNetGroup(t, p.Pid(), mount, dir) {
			t.Fatal("moved into the network group too early: the test proves nothing")
		}
		n, err := cgroup.SyncNet(g)
		if err != nil || n != 1 {
			t.Fatalf("SyncNet = %d, %v; want 1 moved", n, err)
		}
		if !inNetGroup(t, p.Pid(), mount, dir) {
			t.Fatalf("pid %d is not in the network group after SyncNet", p.Pid())
		}
	})
}
