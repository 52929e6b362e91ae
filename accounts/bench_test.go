package accounts

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkBindRelease is one session's account work without file
// restore: lease a pooled account, then release it with the full cleanup
// (process sweep, IPC, scratch walk, empty home). Run as root for real
// accounts; the peer below creates and deletes an account instead.
func BenchmarkBindRelease(b *testing.B) {
	for _, where := range []string{"disk", "tmpfs"} {
		b.Run("leases="+where, func(b *testing.B) { benchBindRelease(b, where, Config{}) })
	}
	// Without the proc connector watcher and the scratch index: a /proc
	// sweep and a walk of /tmp, /var/tmp and /dev/shm at every release.
	b.Run("leases=tmpfs/sweep+walk", func(b *testing.B) {
		benchBindRelease(b, "tmpfs", Config{NoProcWatch: true, NoScratchIndex: true})
	})
	// The lease protocol and home emptying alone: no kill sweep, no scratch walk.
	b.Run("unprivileged", func(b *testing.B) { benchBindRelease(b, "tmpfs", Config{Unprivileged: true}) })
}

// leaseDir is a lease map on disk (ext4 here) or on tmpfs (/dev/shm; on a
// node, /run): leases need to outlive the agent, not the machine.
func leaseDir(b *testing.B, where string) string {
	if where == "disk" {
		return filepath.Join(b.TempDir(), "leases")
	}
	d, err := os.MkdirTemp("/dev/shm", "igrid-bench-leases-")
	if err != nil {
		b.Skip("no /dev/shm")
	}
	b.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func benchBindRelease(b *testing.B, where string, cfg Config) {
	cfg.HomeRoot, cfg.StateDir, cfg.Logger = filepath.Join(b.TempDir(), "homes"), leaseDir(b, where), quietLogger()
	m := NewManager(cfg)
	b.Cleanup(func() { m.RemoveAll() })
	prefix := fmt.Sprintf("igb%04x", b.N%0xffff)
	if err := m.EnsurePool("eng", prefix, 2); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(boolMetric(m.Privileged()), "privileged")
	var med medianTimer
	b.ResetTimer()
	for i := range b.N {
		sid := fmt.Sprintf("s%d", i)
		med.start()
		if _, err := m.BindUser("eng", sid, "alice"); err != nil {
			b.Fatal(err)
		}
		if err := m.Release(sid); err != nil {
			b.Fatal(err)
		}
		med.stop()
	}
	med.report(b)
}

// medianTimer reports the median iteration next to the mean: on a shared
// machine the mean follows the neighbours' load spikes.
type medianTimer struct {
	t0 time.Time
	d  []time.Duration
}

func (m *medianTimer) start() { m.t0 = time.Now() }
func (m *medianTimer) stop()  { m.d = append(m.d, time.Since(m.t0)) }
func (m *medianTimer) report(b *testing.B) {
	if len(m.d) == 0 {
		return
	}
	slices.Sort(m.d)
	b.ReportMetric(float64(m.d[len(m.d)/2].Nanoseconds()), "median-ns/op")
}

// BenchmarkBind is the lease alone (the session-start path).
func BenchmarkBind(b *testing.B) {
	for _, where := range []string{"disk", "tmpfs"} {
		b.Run("leases="+where, func(b *testing.B) { benchBind(b, where) })
	}
}

func benchBind(b *testing.B, where string) {
	m := NewManager(Config{HomeRoot: filepath.Join(b.TempDir(), "homes"), StateDir: leaseDir(b, where), Logger: quietLogger()})
	b.Cleanup(func() { m.RemoveAll() })
	if err := m.EnsurePool("eng", "igbb", 1); err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		sid := fmt.Sprintf("s%d", i)
		if _, err := m.Bind("eng", sid); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := m.Release(sid); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkUseraddUserdel is the peer: making and deleting a real account
// per session, as a system without pools would.
func BenchmarkUseraddUserdel(b *testing.B) {
	if !NewManager(Config{HomeRoot: b.TempDir(), Logger: quietLogger()}).Privileged() {
		b.Skip("needs root")
	}
	var med medianTimer
	defer med.report(b)
	for i := range b.N {
		med.start()
		name := fmt.Sprintf("igbu%d", i%1000)
		if out, err := exec.Command("useradd", "-M", "-s", NoLoginShell, "-U", "-c", "igrid bench", name).CombinedOutput(); err != nil {
			b.Fatalf("useradd: %v %s", err, out)
		}
		if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
			b.Fatalf("userdel: %v %s", err, out)
		}
		med.stop()
	}
}

func boolMetric(v bool) float64 {
	if v {
		return 1
	}
	return 0
}

// BenchmarkScratchWalk is the walk of the scratch directories alone, and
// the scratch index's answer to the same question.
func BenchmarkScratchWalk(b *testing.B) {
	b.Run("walk", func(b *testing.B) {
		for range b.N {
			_ = walkOwned(tmpDirs, nil, 65534, 65534, true, func(string, bool) error { return nil })
		}
	})
	b.Run("index", func(b *testing.B) {
		x, err := sharedScratchIndex()
		if err != nil {
			b.Skip(err)
		}
		for range b.N {
			if _, ok := x.owned(65534, 65534, nil); !ok {
				b.Fatal("index not trusted")
			}
		}
	})
}

// BenchmarkProcSweep is the /proc sweep alone (one status read per
// process on the machine): the floor of every privileged Release.
func BenchmarkProcSweep(b *testing.B) {
	pids, _ := ProcessesOf(0)
	b.ReportMetric(float64(len(pids)), "root-procs")
	for range b.N {
		if _, err := ProcessesOf(65534); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProcWatchCount is the proc connector watcher's answer to the
// question the sweep answers.
func BenchmarkProcWatchCount(b *testing.B) {
	w, err := sharedProcWatch()
	if err != nil {
		b.Skip(err)
	}
	for range b.N {
		if _, ok := w.count(65534); !ok {
			b.Fatal("watcher not trusted")
		}
	}
}
