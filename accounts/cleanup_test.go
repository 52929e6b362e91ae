package accounts

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testCgroup makes a cgroup for the test's session: v2 under the unified
// mount, or v1 under the freezer hierarchy; "" skips.
func testCgroup(t *testing.T, version string) string {
	t.Helper()
	root := map[string]string{"v2": "/sys/fs/cgroup/unified", "v1": "/sys/fs/cgroup/freezer"}[version]
	if _, err := os.Stat(filepath.Join(root, "cgroup.procs")); err != nil {
		root = "/sys/fs/cgroup" // a pure v2 machine
		if version == "v1" {
			t.Skip("no v1 freezer hierarchy on this machine")
		}
	}
	dir := filepath.Join(root, testPrefix(t))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("cannot make a %s cgroup: %v", version, err)
	}
	t.Cleanup(func() {
		checkFor(t, 5*time.Second, func() error { return os.Remove(dir) })
	})
	return dir
}

// startWork starts the "work" child as account a, in cgroup cg (if any),
// and waits until it has left its traces.
func startWork(t *testing.T, bin string, a *Account, cg string, req workRequest) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Dir = a.Home
	cmd.Env = []string{childEnv + "=work", "HOME=" + a.Home, "PATH=/usr/bin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: a.UID, Gid: a.GID}, Setsid: true}
	in, err := cmd.StdinPipe()
	must(t, err)
	out, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if cg != "" {
		must(t, os.WriteFile(filepath.Join(cg, "cgroup.procs"), []byte(strconv.Itoa(cmd.Process.Pid)), 0))
	}
	must(t, json.NewEncoder(in).Encode(req))
	line, err := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Fatalf("work child: %q %v", line, err)
	}
	go io.Copy(io.Discard, out)
	return cmd
}

func TestReleaseLeavesNothing(t *testing.T) {
	needRoot(t)
	bin := childBinary(t)
	for _, cgv := range []string{"", "v2", "v1"} {
		t.Run("cgroup="+cgv, func(t *testing.T) {
			m := newTestManager(t, false, "k")
			traversable(t, m)
			prefix := testPrefix(t)
			t.Cleanup(func() { removeAndCheck(t, m) })
			must(t, m.EnsurePool("eng", prefix, 1))
			a, err := m.BindUser("eng", "s1", "alice")
			must(t, err)
			must(t, m.PrepareHome(a))
			cg := ""
			if cgv != "" {
				cg = testCgroup(t, cgv)
			}
			shared := filepath.Join("/tmp", prefix+"-shared") // root's, world-writable, like /tmp itself
			must(t, os.Mkdir(shared, 0o1777))
			must(t, os.Chmod(shared, 0o1777))
			t.Cleanup(func() { os.RemoveAll(shared) })
			rootFile := filepath.Join(shared, "root-file")
			must(t, os.WriteFile(rootFile, []byte("root"), 0o644))
			files := []string{
				filepath.Join(shared, "nested", "deep", "f"), filepath.Join(shared, "top"),
				filepath.Join("/var/tmp", prefix+"-f"), filepath.Join("/dev/shm", prefix+"-f"),
				filepath.Join(a.Home, "notes"),
			}
			cmd := startWork(t, bin, a, cg, workRequest{Files: files, Fork: true})
			if n := len(ipcOf(a.UID)); n != 3 {
				t.Fatalf("work left %d SysV IPC objects, want 3", n)
			}
			if left := m.scratchFiles(*a); len(left) < 4 {
				t.Fatalf("work left only %v in scratch places; the test would prove nothing", left)
			}
			opt := ReleaseOptions{}
			if cg != "" {
				opt.Cgroups = []string{cg}
			}
			must(t, m.ReleaseWith("s1", opt))
			cmd.Wait()
			if pids, _ := ProcessesOf(a.UID); len(pids) != 0 {
				t.Errorf("processes of %s after release: %v", a.Name, pids)
			}
			if ids := ipcOf(a.UID); len(ids) != 0 {
				t.Errorf("IPC objects after release: %v", ids)
			}
			if left := m.scratchFiles(*a); len(left) != 0 {
				t.Errorf("files of %s after release: %v", a.Name, left)
			}
			for _, f := range files {
				if _, err := os.Lstat(f); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s after release: %v", f, err)
				}
			}
			if _, err := os.Stat(rootFile); err != nil {
				t.Errorf("cleanup removed a file of another owner: %v", err)
			}
			if cg != "" {
				if pids, _ := cgroupPids(cg); len(pids) != 0 {
					t.Errorf("cgroup %s still has %v", cg, pids)
				}
			}
			wantEmptyHome(t, a.Home, a.UID)
			if err := m.Release("s1"); err != nil {
				t.Errorf("second release: %v", err)
			}
		})
	}
}

func TestKillCgroupMissing(t *testing.T) {
	if err := killCgroup(filepath.Join(t.TempDir(), "gone"), time.Second); err != nil {
		t.Errorf("killCgroup of a missing cgroup = %v, want nil", err)
	}
}

func TestSearchable(t *testing.T) {
	tests := []struct {
		mode     uint32
		dirGID   uint32
		want     bool
		describe string
	}{
		{0o1777, 0, true, "world-writable /tmp"},
		{0o700, 0, false, "private dir of another user"},
		{0o750, 42, true, "group dir of the account's group"},
		{0o700, 42, false, "owner-only dir of the account's group"},
		{0o711, 0, true, "traversable"},
	}
	for _, tc := range tests {
		t.Run(tc.describe, func(t *testing.T) {
			st := &syscall.Stat_t{Mode: syscall.S_IFDIR | tc.mode, Gid: tc.dirGID}
			if got := searchable(st, 42); got != tc.want {
				t.Errorf("searchable(%o, gid %d) = %v, want %v", tc.mode, tc.dirGID, got, tc.want)
			}
		})
	}
	_ = fmt.Sprint()
}

// TestReleaseKillsSetuidStray: a process that setuid'ed into the account's
// uid outside the session's cgroup (root's setpriv: no fork of an account
// process made it), and its child, are killed by Release — through the
// proc connector watcher's count, and through the /proc sweep without it.
// Files it leaves in /tmp go too.
func TestReleaseKillsSetuidStray(t *testing.T) {
	needRoot(t)
	bin := childBinary(t)
	for _, watch := range []bool{true, false} {
		t.Run(fmt.Sprintf("procwatch=%v", watch), func(t *testing.T) {
			m := NewManager(Config{HomeRoot: filepath.Join(t.TempDir(), "homes"), Tag: "k", Logger: quietLogger(),
				NoProcWatch: !watch, NoScratchIndex: !watch})
			if watch && (m.procs == nil || m.scratch == nil) {
				t.Skip("no proc connector or inotify here")
			}
			traversable(t, m)
			t.Cleanup(func() { removeAndCheck(t, m) })
			must(t, m.EnsurePool("eng", testPrefix(t), 1))
			a, err := m.BindUser("eng", "s1", "alice")
			must(t, err)
			must(t, m.PrepareHome(a))
			cg := testCgroup(t, "v2")
			startWork(t, bin, a, cg, workRequest{Fork: true})
			left := filepath.Join("/tmp", testPrefix(t)+"-stray")
			t.Cleanup(func() { os.Remove(left) })
			stray := asUID(t, a.UID, "/bin/sh", "-c", "echo x > "+left+"; /bin/sleep 1000 & wait")
			checkFor(t, 5*time.Second, func() error {
				if pids, _ := ProcessesOf(a.UID); len(pids) < 4 { // work, its sleep, sh, its sleep
					return fmt.Errorf("processes of %s: %v", a.Name, pids)
				}
				if _, err := os.Stat(left); err != nil {
					return err
				}
				return nil
			})
			if pids, _ := cgroupPids(cg); slices.Contains(pids, stray.Process.Pid) {
				t.Fatal("the stray is in the session cgroup; the test would prove nothing")
			}
			must(t, m.ReleaseWith("s1", ReleaseOptions{Cgroups: []string{cg}}))
			if pids, _ := ProcessesOf(a.UID); len(pids) != 0 {
				t.Errorf("processes of %s after release: %v", a.Name, pids)
			}
			if _, err := os.Lstat(left); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the stray's file after release: %v", err)
			}
		})
	}
}
