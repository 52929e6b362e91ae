package accounts

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// newTestManager returns a manager over a fresh home root.
func newTestManager(t *testing.T, unprivileged bool, tag string) *Manager {
	t.Helper()
	root := filepath.Join(t.TempDir(), "homes")
	return NewManager(Config{HomeRoot: root, Tag: tag, Unprivileged: unprivileged, Logger: quietLogger()})
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn + 1}))
}

func TestAccountName(t *testing.T) {
	tests := []struct {
		prefix, tag string
		n           int
		want        string
	}{
		{"igeng", "", 1, "igeng01"},
		{"igeng", "a", 4, "igenga04"},
		{"igfin", "b", 12, "igfinb12"},
		{"x", "", 100, "x100"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := AccountName(tc.prefix, tc.tag, tc.n); got != tc.want {
				t.Errorf("AccountName(%q, %q, %d) = %q, want %q", tc.prefix, tc.tag, tc.n, got, tc.want)
			}
		})
	}
}

func TestEnsurePoolRejectsBadNames(t *testing.T) {
	tests := []struct {
		name, prefix, tag string
		size              int
		want              string
	}{
		{"empty prefix", "", "", 2, "must start with a lower-case letter"},
		{"upper case", "Igeng", "", 2, "must start with a lower-case letter"},
		{"shell chars", "ig;rm", "", 2, "may hold only"},
		{"bad tag", "ig", "A", 2, "may hold only"},
		{"zero size", "ig", "", 0, "out of range"},
		{"too long", strings.Repeat("a", 31), "", 2, "longer than 32"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newTestManager(t, true, tc.tag)
			err := m.EnsurePool("eng", tc.prefix, tc.size)
			if !errors.Is(err, ErrBadName) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("EnsurePool(%q, %d) = %v, want ErrBadName with %q", tc.prefix, tc.size, err, tc.want)
			}
			if len(m.Accounts()) != 0 {
				t.Errorf("a rejected pool left accounts: %v", m.Accounts())
			}
		})
	}
}

func TestUnprivilegedPool(t *testing.T) {
	m := newTestManager(t, true, "u")
	if m.Privileged() {
		t.Fatal("Unprivileged config gave a privileged manager")
	}
	if err := m.EnsurePool("eng", "igt", 2); err != nil {
		t.Fatal(err)
	}
	a1, err := m.Bind("eng", "s1")
	if err != nil {
		t.Fatal(err)
	}
	if a1.Name != "igtu01" || a1.UID != uint32(os.Getuid()) || a1.Home != filepath.Join(m.cfg.HomeRoot, "igtu01") {
		t.Errorf("first account = %+v", a1)
	}
	if again, _ := m.Bind("eng", "s1"); again == nil || again.Name != a1.Name {
		t.Errorf("binding a bound session again gave %+v, want %s", again, a1.Name)
	}
	if _, err := m.Bind("eng", "s2"); err != nil {
		t.Fatal(err)
	}
	_, err = m.Bind("eng", "s3")
	if !errors.Is(err, ErrPoolExhausted) || err.Error() != "all 2 accounts of class eng are in use" {
		t.Errorf("third bind: %v, want ErrPoolExhausted", err)
	}
	_, err = m.Bind("fin", "s4")
	if !errors.Is(err, ErrNoPool) || err.Error() != "class fin has no account pool on this node" {
		t.Errorf("bind without pool: %v, want ErrNoPool", err)
	}

	fillHome(t, a1.Home)
	if err := m.Release("s1"); err != nil {
		t.Fatal(err)
	}
	wantEmptyHome(t, a1.Home, a1.UID)
	if _, ok := m.Lookup("s1"); ok {
		t.Error("Lookup finds a released session")
	}
	if err := m.Release("s1"); err != nil {
		t.Errorf("second Release: %v", err)
	}
	if a, err := m.Bind("eng", "s5"); err != nil || a.Name != a1.Name {
		t.Errorf("bind after release = %+v, %v; want the freed %s", a, err, a1.Name)
	}
	if err := m.RemoveAll(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(a1.Home); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("home %s after RemoveAll: %v", a1.Home, err)
	}
}

func TestConcurrentBind(t *testing.T) {
	for _, priv := range []bool{false, true} {
		t.Run(fmt.Sprintf("privileged=%v", priv), func(t *testing.T) {
			if priv {
				needRoot(t)
			}
			m := newTestManager(t, !priv, "")
			prefix := testPrefix(t)
			t.Cleanup(func() { removeAndCheck(t, m) })
			const size, workers = 3, 24
			if err := m.EnsurePool("eng", prefix, size); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			got := map[string]string{} // account → session
			var wg sync.WaitGroup
			for i := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sid := fmt.Sprintf("s%d", i)
					a, err := m.Bind("eng", sid)
					if err != nil {
						if !errors.Is(err, ErrPoolExhausted) {
							t.Errorf("bind %s: %v", sid, err)
						}
						return
					}
					mu.Lock()
					defer mu.Unlock()
					if other, dup := got[a.Name]; dup {
						t.Errorf("account %s handed to %s and %s", a.Name, other, sid)
					}
					got[a.Name] = sid
				}()
			}
			wg.Wait()
			if len(got) != size {
				t.Errorf("%d accounts bound, want %d: %v", len(got), size, got)
			}
		})
	}
}

func TestKillRefusesRootAndSelf(t *testing.T) {
	for _, uid := range []uint32{0, uint32(os.Getuid())} {
		if err := killUID(uid, 0); err == nil || !strings.Contains(err.Error(), "refusing") {
			t.Errorf("killUID(%d) = %v, want a refusal", uid, err)
		}
	}
}

func TestEmptyHomeRefusesForeignPaths(t *testing.T) {
	m := newTestManager(t, true, "")
	err := m.emptyHome(Account{Name: "x", Home: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("emptyHome outside the home root = %v, want a refusal", err)
	}
}

// fillHome puts a file, a directory and a symlink out of the home into it.
func fillHome(t *testing.T, home string) {
	t.Helper()
	outside := filepath.Join(t.TempDir(), "keep")
	must(t, os.WriteFile(outside, []byte("keep"), 0o644))
	must(t, os.WriteFile(filepath.Join(home, "notes.txt"), []byte("x"), 0o644))
	must(t, os.MkdirAll(filepath.Join(home, ".cache", "deep"), 0o755))
	must(t, os.Symlink(filepath.Dir(outside), filepath.Join(home, "link")))
	t.Cleanup(func() {
		if _, err := os.Stat(outside); err != nil {
			t.Errorf("cleaning a home followed a symlink out of it: %v", err)
		}
	})
}

func wantEmptyHome(t *testing.T, home string, uid uint32) {
	t.Helper()
	ents, err := os.ReadDir(home)
	if err != nil || len(ents) != 0 {
		t.Errorf("home %s: %d entries, err %v; want empty", home, len(ents), err)
	}
	fi, err := os.Stat(home)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 || fileUID(fi) != uid {
		t.Errorf("home %s: mode %v owner %d, want 0700 owned by %d", home, fi.Mode().Perm(), fileUID(fi), uid)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
