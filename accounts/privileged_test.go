package accounts

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/igrid/igrid/internal/testutil"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates real Unix accounts with useradd")
	}
}

// testPrefix is a pool prefix no other test run uses.
func testPrefix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 2)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "igt" + hex.EncodeToString(b)
}

// traversable lets dynamic accounts reach their homes inside a test temp dir.
func traversable(t *testing.T, m *Manager) {
	t.Helper()
	must(t, os.MkdirAll(m.cfg.HomeRoot, 0o711))
	for d := m.cfg.HomeRoot; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		must(t, os.Chmod(d, 0o711))
	}
}

// removeAndCheck runs RemoveAll and checks no account or home is left.
func removeAndCheck(t *testing.T, m *Manager) {
	t.Helper()
	accts := m.Accounts()
	if err := m.RemoveAll(); err != nil {
		t.Errorf("RemoveAll: %v", err)
	}
	for _, a := range accts {
		if m.Privileged() {
			if _, err := user.Lookup(a.Name); !errors.As(err, new(user.UnknownUserError)) {
				t.Errorf("account %s still exists after RemoveAll (lookup: %v)", a.Name, err)
			}
			if _, err := user.LookupGroup(a.Name); !errors.As(err, new(user.UnknownGroupError)) {
				t.Errorf("group %s still exists after RemoveAll (lookup: %v)", a.Name, err)
			}
		}
		if _, err := os.Lstat(a.Home); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("home %s still exists after RemoveAll: %v", a.Home, err)
		}
	}
}

func fileUID(fi fs.FileInfo) uint32 { return fi.Sys().(*syscall.Stat_t).Uid }

// dbField returns field i of name's line in an /etc database file.
func dbField(t *testing.T, file, name string, i int) string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Split(sc.Text(), ":"); fields[0] == name && len(fields) > i {
			return fields[i]
		}
	}
	t.Fatalf("%s has no line for %s", file, name)
	return ""
}

func TestPrivilegedPoolLifecycle(t *testing.T) {
	needRoot(t)
	m := newTestManager(t, false, "r")
	traversable(t, m)
	prefix := testPrefix(t)
	t.Cleanup(func() { removeAndCheck(t, m) })
	if err := m.EnsurePool("eng", prefix, 2); err != nil {
		t.Fatal(err)
	}
	for _, a := range m.Accounts() {
		checkAccountEntry(t, a)
		wantEmptyHome(t, a.Home, a.UID)
	}
	a1, err := m.Bind("eng", "s1")
	must(t, err)
	a2, err := m.Bind("eng", "s2")
	must(t, err)
	if a1.UID == a2.UID || a1.Name != prefix+"r01" {
		t.Fatalf("accounts %+v and %+v", a1, a2)
	}
	if _, err := m.Bind("eng", "s3"); !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("third bind: %v, want ErrPoolExhausted", err)
	}

	scratch := filepath.Join("/tmp", prefix+"-scratch")
	cmd := runAs(t, a1, fmt.Sprintf("echo x > notes; mkdir -p d/e; echo y > %s; sleep 1000 & exec sleep 1000", scratch))
	checkFor(t, 10*time.Second, func() error {
		pids, _ := ProcessesOf(a1.UID)
		if _, err := os.Stat(scratch); err != nil || len(pids) < 2 {
			return fmt.Errorf("work of %s not running yet: pids %v, scratch %v", a1.Name, pids, err)
		}
		return nil
	})
	if err := m.Release("s1"); err != nil {
		t.Fatalf("release: %v", err)
	}
	if err := cmd.Wait(); err == nil {
		t.Error("the account's process exited cleanly; want it killed")
	}
	if pids, _ := ProcessesOf(a1.UID); len(pids) != 0 {
		t.Errorf("processes of %s after release: %v", a1.Name, pids)
	}
	if _, err := os.Lstat(scratch); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("scratch file %s after release: %v", scratch, err)
	}
	wantEmptyHome(t, a1.Home, a1.UID)
	if a, err := m.Bind("eng", "s3"); err != nil || a.Name != a1.Name {
		t.Errorf("bind after release = %+v, %v; want %s", a, err, a1.Name)
	}
}

// checkAccountEntry checks the passwd and shadow entries useradd made.
func checkAccountEntry(t *testing.T, a Account) {
	t.Helper()
	if got := dbField(t, "/etc/passwd", a.Name, 4); got != Comment {
		t.Errorf("%s comment %q, want %q", a.Name, got, Comment)
	}
	if got := dbField(t, "/etc/passwd", a.Name, 5); got != a.Home {
		t.Errorf("%s home %q, want %q", a.Name, got, a.Home)
	}
	if got := dbField(t, "/etc/passwd", a.Name, 6); got != NoLoginShell {
		t.Errorf("%s shell %q, want %q", a.Name, got, NoLoginShell)
	}
	if got := dbField(t, "/etc/shadow", a.Name, 1); !strings.HasPrefix(got, "!") {
		t.Errorf("%s password %q, want locked", a.Name, got)
	}
}

// runAs starts sh -c script as the account in its home.
func runAs(t *testing.T, a *Account, script string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Dir = a.Home
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + a.Home}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: a.UID, Gid: a.GID},
		Setsid:     true,
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func TestAdoptLeftoverAccounts(t *testing.T) {
	needRoot(t)
	prefix := testPrefix(t)
	crashed := newTestManager(t, false, "c")
	if err := crashed.EnsurePool("eng", prefix, 1); err != nil {
		t.Fatal(err)
	}
	old := crashed.Accounts()[0]
	fillHome(t, old.Home)

	// A new agent on the same home root finds the account of the crashed one.
	m := NewManager(Config{HomeRoot: crashed.cfg.HomeRoot, Tag: "c", Logger: quietLogger()})
	t.Cleanup(func() { removeAndCheck(t, m) })
	if err := m.EnsurePool("eng", prefix, 2); err != nil {
		t.Fatalf("EnsurePool over a leftover account: %v", err)
	}
	got := m.Accounts()
	if len(got) != 2 || got[0].Name != old.Name || got[0].UID != old.UID {
		t.Fatalf("accounts %+v, want %s (uid %d) adopted and one more", got, old.Name, old.UID)
	}
	wantEmptyHome(t, old.Home, old.UID)
}

func TestForeignAccountNotTaken(t *testing.T) {
	needRoot(t)
	prefix := testPrefix(t)
	name := AccountName(prefix, "f", 1)
	if out, err := exec.Command("useradd", "-M", "-c", "someone else", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("userdel", name).Run() })
	m := newTestManager(t, false, "f")
	t.Cleanup(func() { removeAndCheck(t, m) })
	err := m.EnsurePool("eng", prefix, 1)
	if !errors.Is(err, ErrNotIgrid) || !strings.Contains(err.Error(), name) {
		t.Fatalf("EnsurePool over a foreign account = %v, want ErrNotIgrid naming %s", err, name)
	}
	if _, err := m.Bind("eng", "s1"); !errors.Is(err, ErrNoPool) {
		t.Errorf("bind after a failed pool: %v, want ErrNoPool", err)
	}
}

// checkFor polls instead of sleeping (internal/testutil).
var checkFor = testutil.CheckFor
