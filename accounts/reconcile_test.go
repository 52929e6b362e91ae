package accounts

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func accountNames(m *Manager) []string {
	var out []string
	for _, a := range m.Accounts() {
		out = append(out, a.Name)
	}
	return out
}

func TestReconcileGrowShrink(t *testing.T) {
	m := newTestManager(t, true, "")
	m.cfg.SudoersDir = t.TempDir()
	must(t, m.Reconcile("eng", "igt", 2, Normal))
	must(t, m.Reconcile("eng", "igt", 3, Normal))
	if got := strings.Join(accountNames(m), ","); got != "igt01,igt02,igt03" {
		t.Fatalf("after growing: %s", got)
	}
	busy, err := m.Bind("eng", "s1")
	must(t, err)
	busy2, err := m.Bind("eng", "s2")
	must(t, err)
	must(t, m.Release("s1")) // igt01 free, igt02 bound
	_ = busy

	must(t, m.Reconcile("eng", "igt", 1, Normal))
	if got := strings.Join(accountNames(m), ","); got != "igt01,igt02" {
		t.Fatalf("after shrinking to 1 with igt02 bound: %s, want igt03 gone and igt02 kept", got)
	}
	if _, err := os.Stat(busy2.Home); err != nil {
		t.Errorf("shrinking touched the home of the bound account: %v", err)
	}
	a, err := m.Bind("eng", "s3")
	must(t, err)
	if a.Name != "igt01" {
		t.Errorf("bind got %s", a.Name)
	}
	if _, err := m.Bind("eng", "s4"); !errors.Is(err, ErrPoolExhausted) || !strings.Contains(err.Error(), "all 1 accounts") {
		t.Errorf("bind beyond the shrunk size = %v, want exhausted at 1", err)
	}
	must(t, m.Release("s2"))
	must(t, m.Reconcile("eng", "igt", 1, Normal))
	if got := strings.Join(accountNames(m), ","); got != "igt01" {
		t.Errorf("after the bound account was freed: %s", got)
	}
}

func TestReconcileSuperuserSudoers(t *testing.T) {
	m := newTestManager(t, true, "")
	m.cfg.SudoersDir = t.TempDir()
	must(t, m.Reconcile("sysadmin-base", "igsa", 2, Kind{Superuser: true, Sudo: []string{"/bin/true", "/bin/ls /root"}}))
	b, err := os.ReadFile(m.SudoersFile("sysadmin-base"))
	must(t, err)
	want := "User_Alias IGRID_SYSADMIN_BASE = igsa01, igsa02\n"
	if !strings.Contains(string(b), want) || !strings.Contains(string(b), "IGRID_SYSADMIN_BASE ALL=(root) NOPASSWD: /bin/true, /bin/ls /root\n") {
		t.Errorf("sudoers:\n%s", b)
	}
	fi, err := os.Stat(m.SudoersFile("sysadmin-base"))
	must(t, err)
	if fi.Mode().Perm() != 0o440 {
		t.Errorf("sudoers mode %v, want 0440", fi.Mode().Perm())
	}

	bad := []struct {
		name string
		kind Kind
	}{
		{"relative", Kind{Superuser: true, Sudo: []string{"ls"}}},
		{"wildcard", Kind{Superuser: true, Sudo: []string{"/bin/ls *"}}},
		{"comma", Kind{Superuser: true, Sudo: []string{"/bin/true, ALL"}}},
		{"newline", Kind{Superuser: true, Sudo: []string{"/bin/true\nALL ALL=(ALL) ALL"}}},
		{"missing", Kind{Superuser: true, Sudo: []string{"/no/such/tool"}}},
		{"normal with sudo", Kind{Sudo: []string{"/bin/true"}}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			err := m.Reconcile("sysadmin-base", "igsa", 3, tc.kind)
			if !errors.Is(err, ErrBadKind) {
				t.Fatalf("Reconcile(%+v) = %v, want ErrBadKind", tc.kind, err)
			}
			if got, _ := os.ReadFile(m.SudoersFile("sysadmin-base")); string(got) != string(b) || len(m.Accounts()) != 2 {
				t.Errorf("a rejected kind changed the pool or its sudoers")
			}
		})
	}
	// A policy change rewrites the rules and the accounts (grown here).
	must(t, m.Reconcile("sysadmin-base", "igsa", 3, Kind{Superuser: true, Sudo: []string{"/bin/ls /root"}}))
	b, err = os.ReadFile(m.SudoersFile("sysadmin-base"))
	must(t, err)
	if !strings.Contains(string(b), "= igsa01, igsa02, igsa03\n") || !strings.Contains(string(b), "NOPASSWD: /bin/ls /root\n") {
		t.Errorf("sudoers after the policy change:\n%s", b)
	}
	// A superuser pool whose rules are all removed keeps its accounts and
	// loses its drop-in (nothing may run as root).
	must(t, m.Reconcile("sysadmin-base", "igsa", 3, Kind{Superuser: true}))
	if _, err := os.Stat(m.SudoersFile("sysadmin-base")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("sudoers of a superuser pool without rules: %v", err)
	}
	must(t, m.Reconcile("sysadmin-base", "igsa", 3, Kind{Superuser: true, Sudo: []string{"/bin/true"}}))
	must(t, m.Reconcile("sysadmin-base", "igsa", 2, Normal))
	if _, err := os.Stat(m.SudoersFile("sysadmin-base")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("sudoers of a pool turned normal: %v", err)
	}
}
