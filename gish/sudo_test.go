package gish

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestSudoRulesOfASuperuserClass: a superuser class's GISH runs a real
// `sudo -n` for exactly its rules (root's uid comes back), refuses any
// other sudo line with GISH's reason before sudo runs, and its ordinary
// programs still run with no_new_privs; a normal class has no sudo at all.
func TestSudoRulesOfASuperuserClass(t *testing.T) {
	acct := newRealAccount(t)
	if _, err := os.Stat(sudoPath); err != nil {
		t.Skip("sudo is not installed (scripts/test-deps.sh installs it)")
	}
	// The node generates this drop-in from the policy (accounts.Reconcile).
	dropIn := filepath.Join("/etc/sudoers.d", "igrid-test-"+acct.name)
	rule := acct.name + " ALL=(root) NOPASSWD: /usr/bin/id -u\n"
	tmp := filepath.Join(t.TempDir(), "sudoers")
	if err := os.WriteFile(tmp, []byte(rule), 0o440); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("visudo", "-cqf", tmp).CombinedOutput(); err != nil {
		t.Fatalf("visudo: %v %s", err, out)
	}
	if err := os.WriteFile(dropIn, []byte(rule), 0o440); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(dropIn) })

	exes := resolveExes(t, "id", "cat")
	policy := func(sudo ...string) *Policy {
		p := DefaultPolicy("sysadmin", exes, acct.home)
		p.ReadAreas = append(p.ReadAreas, "/proc")
		p.Sudo = sudo
		return p
	}
	super := startAccountServer(t, acct, policy("/usr/bin/id -u"), "")
	uid := strconv.Itoa(int(acct.uid))
	tests := []struct {
		line, want string
		status     int
	}{
		{"sudo -n /usr/bin/id -u", "0\n", 0},
		{"sudo id -u", "0\n", 0},
		{"id -u", uid + "\n", 0},
		{"sudo -n /usr/bin/id -g", `(rule: sudo-rules)`, 126},
		{"sudo -s", `takes only`, 126},
		{"sudo -n -u nobody /usr/bin/id -u", `takes only`, 126},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			out, st := super.run(t, tt.line, "")
			if st != tt.status || !strings.Contains(out, tt.want) {
				t.Fatalf("%q: status %d, output %q; want %d and %q", tt.line, st, out, tt.status, tt.want)
			}
		})
	}
	// An ordinary program of the superuser class still has no_new_privs.
	if out, _ := super.run(t, "cat /proc/self/status", ""); !strings.Contains(out, "NoNewPrivs:\t1") {
		t.Errorf("a program of the superuser class runs without no_new_privs:\n%s", out)
	}
	// A rule the policy has but the node's sudoers lacks: sudo refuses.
	stale := startAccountServer(t, acct, policy("/usr/bin/id -u", "/usr/bin/id -g"), "")
	if out, st := stale.run(t, "sudo id -g", ""); st == 0 || !strings.Contains(out, "password is required") {
		t.Errorf("sudo id -g without a sudoers rule: status %d %q; want sudo's refusal", st, out)
	}
	normal := startAccountServer(t, acct, policy(), "")
	if out, st := normal.run(t, "sudo -n /usr/bin/id -u", ""); st == 0 || strings.Contains(out, "0\n") && !strings.Contains(out, "denied") {
		t.Errorf("a normal class ran sudo: status %d %q", st, out)
	} else if !strings.Contains(out, fmt.Sprintf("(rule: %s)", RuleExecutables)) {
		t.Errorf("a normal class's sudo refused without the allow-list reason: %q", out)
	}
}
