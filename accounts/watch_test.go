package accounts

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// unusedUID is a uid no account of the machine has (the watchers need no
// account to follow a uid; setpriv takes a number).
func unusedUID(t *testing.T) uint32 {
	t.Helper()
	for uid := uint32(61000 + os.Getpid()%3000); uid < 64000; uid++ {
		if pids, _ := ProcessesOf(uid); len(pids) > 0 {
			continue
		}
		if out, _ := exec.Command("getent", "passwd", strconv.Itoa(int(uid))).Output(); len(out) == 0 {
			return uid
		}
	}
	t.Skip("no unused uid")
	return 0
}

// asUID starts argv as root, which then setuids into uid (setpriv): a
// process of uid that no fork of a uid process made.
func asUID(t *testing.T, uid uint32, argv ...string) *exec.Cmd {
	t.Helper()
	id := strconv.Itoa(int(uid))
	cmd := exec.Command("setpriv", append([]string{"--reuid", id, "--regid", id, "--clear-groups", "--"}, argv...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	must(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// TestProcWatchCounts: the proc connector watcher counts exactly what the
// /proc sweep finds for a uid, through setuid, fork and exit, also from
// inside a user and network namespace the processes made.
func TestProcWatchCounts(t *testing.T) {
	needRoot(t)
	w, err := sharedProcWatch()
	if err != nil {
		t.Skipf("no proc connector here: %v", err)
	}
	script := "/bin/sleep 1000 & /bin/sleep 1000 & wait"
	for name, argv := range map[string][]string{
		"plain":      {"/bin/sh", "-c", script},
		"namespaced": {"/usr/bin/unshare", "-rn", "/bin/sh", "-c", script},
	} {
		t.Run(name, func(t *testing.T) { procWatchCount(t, w, argv) })
	}
}

func procWatchCount(t *testing.T, w *procWatch, argv []string) {
	if argv[0] == "/usr/bin/unshare" {
		if out, err := exec.Command("setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "--", "/usr/bin/unshare", "-rn", "/bin/true").CombinedOutput(); err != nil {
			t.Skipf("no unprivileged user namespaces here: %v %s", err, out)
		}
	}
	uid := unusedUID(t)
	if n, ok := w.count(uid); !ok || n != 0 {
		t.Fatalf("count before = %d, %v; want 0", n, ok)
	}
	cmd := asUID(t, uid, argv...)
	checkFor(t, 5*time.Second, func() error {
		pids, _ := ProcessesOf(uid)
		if n, ok := w.count(uid); !ok || n != len(pids) || n != 3 {
			return fmt.Errorf("watcher counts %d (%v), the sweep %v; want 3", n, ok, pids)
		}
		return nil
	})
	pids, _ := ProcessesOf(uid)
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGKILL)
	}
	cmd.Wait()
	checkFor(t, 5*time.Second, func() error { // the sleeps are reaped by init
		if n, ok := w.count(uid); !ok || n != 0 {
			return fmt.Errorf("watcher counts %d after the kill", n)
		}
		return nil
	})
}

// TestScratchIndexMatchesWalk: after each change in a shared scratch
// directory, the inotify index lists exactly what the walk finds.
func TestScratchIndexMatchesWalk(t *testing.T) {
	needRoot(t)
	x, err := sharedScratchIndex()
	if err != nil {
		t.Skipf("no scratch index here: %v", err)
	}
	uid, gid := unusedUID(t), uint32(61999)
	shared := filepath.Join("/tmp", testPrefix(t)+"-shared")
	must(t, os.Mkdir(shared, 0o1777))
	must(t, os.Chmod(shared, 0o1777))
	t.Cleanup(func() { os.RemoveAll(shared) })
	own := func(p string) error { return os.Lchown(p, int(uid), int(gid)) }
	p := func(s string) string { return filepath.Join(shared, s) }
	steps := []struct {
		name string
		do   func() error
		want int // entries the walk must find (so the test proves something)
	}{
		{"file chowned to uid", func() error {
			return join(os.WriteFile(p("f"), nil, 0o644), own(p("f")))
		}, 1},
		{"nested dir with a file", func() error {
			return join(os.MkdirAll(p("a/b"), 0o755), os.Chmod(p("a"), 0o755), os.WriteFile(p("a/b/g"), nil, 0o644), own(p("a/b/g")))
		}, 2},
		{"dir renamed", func() error { return os.Rename(p("a"), p("c")) }, 2},
		{"hard link", func() error { return os.Link(p("c/b/g"), p("h")) }, 3},
		{"dir closed to others", func() error { return os.Chmod(p("c"), 0o700) }, 2},
		{"dir opened again", func() error { return os.Chmod(p("c"), 0o755) }, 3},
		{"dir replaced by another of that name", func() error {
			return join(os.RemoveAll(p("c")), os.MkdirAll(p("c/b"), 0o755), os.WriteFile(p("c/b/k"), nil, 0o600), own(p("c/b/k")))
		}, 3},
		{"owned dir", func() error { return join(os.Mkdir(p("d"), 0o700), own(p("d"))) }, 4},
		{"symlink", func() error { return join(os.Symlink("/etc/passwd", p("l")), own(p("l"))) }, 5},
		{"removed", func() error { return join(os.Remove(p("f")), os.Remove(p("h"))) }, 3},
		{"chowned back", func() error { return os.Lchown(p("l"), 0, 0) }, 2},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			must(t, s.do())
			var walked []string
			must(t, walkOwned(tmpDirs, nil, uid, gid, true, func(p string, _ bool) error { walked = append(walked, p); return nil }))
			indexed, ok := x.owned(uid, gid, nil)
			if !ok {
				t.Fatal("index not trusted")
			}
			slices.Sort(walked)
			slices.Sort(indexed)
			if !slices.Equal(walked, indexed) || len(walked) != s.want {
				t.Fatalf("index %v, walk %v (want %d)", indexed, walked, s.want)
			}
		})
	}
}

func join(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
