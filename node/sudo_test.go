package node

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/igrid/igrid/internal/proto"
)

// TestSuperuserClassSudo: a class of kind superuser gets its sudo rules
// from the policy into /etc/sudoers.d (generated, checked by visudo), and
// its user runs exactly those with a real `sudo -n` through GISH; another
// sudo line is refused with GISH's reason. The drop-in goes with the pool
// at shutdown.
func TestSuperuserClassSudo(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: sessions run as real dynamic accounts made with useradd")
	}
	if _, err := exec.LookPath("visudo"); err != nil {
		t.Skip("sudo is not installed (scripts/test-deps.sh installs it)")
	}
	class := "tsu" + randomTag(t)
	dir := t.TempDir()
	policy := "class: " + class + "\nexecutables: [id]\nsession:\n  max_usage_time: 1h\n" +
		"account_pool:\n  prefix: igsu\n  size: 1\n  kind: superuser\n  sudo: [/usr/bin/id -u]\n"
	if err := os.WriteFile(filepath.Join(dir, class+".yaml"), []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	dropIn := filepath.Join("/etc/sudoers.d", "igrid-"+class)
	t.Run("session", func(t *testing.T) {
		// Registered first, so it runs after the agent's shutdown.
		t.Cleanup(func() {
			if _, err := os.Stat(dropIn); !os.IsNotExist(err) {
				t.Errorf("drop-in %s after shutdown: %v", dropIn, err)
				os.Remove(dropIn)
			}
		})
		n := startNodeWith(t, dir)
		if n.Accounts().SudoersFile(class) != dropIn {
			t.Fatalf("drop-in at %s, want %s", n.Accounts().SudoersFile(class), dropIn)
		}
		b, err := os.ReadFile(dropIn)
		if err != nil || !strings.Contains(string(b), "NOPASSWD: /usr/bin/id -u\n") {
			t.Fatalf("sudoers drop-in %s: %v\n%s", dropIn, err, b)
		}
		now := time.Now()
		cmd := n.startCmd("s-su", "sam", now.Add(-time.Second), now.Add(time.Hour))
		cmd.Start.Class = class
		if r := n.request(t, cmd); r.Error != "" {
			t.Fatal(r.Error)
		}
		if got := n.run(t, "sam", "sudo -n /usr/bin/id -u"); got != "0\n" {
			t.Errorf("sudo -n /usr/bin/id -u = %q, want 0", got)
		}
		if got := n.run(t, "sam", "sudo id -g"); !strings.Contains(got, "rule: sudo-rules") {
			t.Errorf("sudo id -g = %q, want GISH's sudo-rules refusal", got)
		}
		n.request(t, proto.Command{Op: proto.OpEnd, End: &proto.EndSession{SessionID: "s-su", Reason: "test"}})
	})
}
