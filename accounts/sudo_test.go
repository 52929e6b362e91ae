package accounts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestSudoRulesWithRealSudo: the drop-in generated for a superuser pool
// lets its account run exactly the listed command as root with a real
// `sudo -n`, refuses any other (sudo's own reason), and no sudo works
// under no_new_privs (why GISH exempts sudo, see README). RemoveAll takes
// the drop-in away with the accounts.
func TestSudoRulesWithRealSudo(t *testing.T) {
	needRoot(t)
	sudo, err := exec.LookPath("sudo")
	if err != nil {
		t.Skip("sudo is not installed (scripts/test-deps.sh installs it)")
	}
	if b, err := os.ReadFile("/etc/sudoers"); err != nil || !strings.Contains(string(b), "includedir /etc/sudoers.d") {
		t.Skip("/etc/sudoers does not read /etc/sudoers.d")
	}
	m := newTestManager(t, false, "k")
	traversable(t, m)
	m.cfg.SudoersDir = "/etc/sudoers.d"
	class := "sudo-" + testPrefix(t)
	t.Cleanup(func() { os.Remove(m.SudoersFile(class)); removeAndCheck(t, m) })
	must(t, m.Reconcile(class, testPrefix(t), 1, Kind{Superuser: true, Sudo: []string{"/usr/bin/id -u"}}))
	a, err := m.BindUser(class, "s1", "root-ish")
	must(t, err)
	must(t, m.PrepareHome(a))
	run := func(nnp bool, argv ...string) (string, error) {
		id := strconv.Itoa(int(a.UID))
		pre := []string{"--reuid", id, "--regid", id, "--clear-groups"}
		if nnp {
			pre = append(pre, "--no-new-privs")
		}
		out, err := exec.Command("setpriv", append(append(pre, "--"), argv...)...).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	tests := []struct {
		name    string
		nnp     bool
		argv    []string
		want    string // output, or a substring of sudo's refusal
		allowed bool
	}{
		{"allowed rule", false, []string{sudo, "-n", "/usr/bin/id", "-u"}, "0", true},
		{"other arguments", false, []string{sudo, "-n", "/usr/bin/id", "-g"}, "password is required", false},
		{"other program", false, []string{sudo, "-n", "/usr/bin/whoami"}, "password is required", false},
		{"allowed rule under no_new_privs", true, []string{sudo, "-n", "/usr/bin/id", "-u"}, "no new privileges", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(tt.nnp, tt.argv...)
			if tt.allowed && (err != nil || out != tt.want) {
				t.Fatalf("%v: %q, %v; want %q", tt.argv, out, err, tt.want)
			}
			if !tt.allowed && (err == nil || !strings.Contains(out, tt.want)) {
				t.Fatalf("%v: %q, %v; want refused with %q", tt.argv, out, err, tt.want)
			}
		})
	}
	must(t, m.Release("s1"))
	must(t, m.RemoveAll())
	if _, err := os.Stat(m.SudoersFile(class)); !os.IsNotExist(err) {
		t.Errorf("drop-in %s after RemoveAll: %v", filepath.Base(m.SudoersFile(class)), err)
	}
}
