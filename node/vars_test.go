package node

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/igrid/igrid/gish"
)

// TestSettingsFollowTheUser: a variable the user exports in one session is
// saved to the GSS with their files (manifest Vars) and set in the next
// session's GISH and the programs it starts; one outside the class's
// environment allow-list (account.env: IGT_*) is not, nor what the user
// forges into the settings file beyond the list, nor a session variable.
func TestSettingsFollowTheUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: sessions run as real dynamic accounts made with useradd")
	}
	n := startNodeGSS(t)
	now := time.Now()
	start := func(id string) string {
		t.Helper()
		if r := n.request(t, n.startCmd(id, "dora", now.Add(-time.Second), now.Add(time.Hour))); r.Error != "" {
			t.Fatalf("start %s: %s", id, r.Error)
		}
		a, _ := n.Accounts().Lookup(id)
		return a.Home
	}
	checkEnv := func(session string, want, unwanted []string) {
		t.Helper()
		got := n.run(t, "dora", "printenv")
		for _, w := range want {
			if !strings.Contains("\n"+got, "\n"+w+"\n") {
				t.Errorf("%s: programs' environment lacks %s:\n%s", session, w, got)
			}
		}
		for _, u := range unwanted {
			if strings.Contains("\n"+got, "\n"+u) {
				t.Errorf("%s: programs' environment has %s:\n%s", session, u, got)
			}
		}
	}

	start("s-env1")
	n.run(t, "dora", "export IGT_EDITOR=vim IGT_GONE=1 NOT_KEPT=x; unset IGT_GONE")
	n.run(t, "dora", "export IGT_COLOR=blue") // a second login of the same session
	n.end(t, "s-env1")

	home := start("s-env2")
	checkEnv("s-env2", []string{"IGT_EDITOR=vim", "IGT_COLOR=blue", "HOME=" + home},
		[]string{"NOT_KEPT=", "IGT_GONE="})
	// The node does not trust what the user writes into the file itself.
	forged, _ := json.Marshal(map[string]string{"IGT_EDITOR": "ed", "LD_PRELOAD": "/tmp/x.so", "HOME": "/root", "bad name": "1"})
	if err := os.WriteFile(filepath.Join(home, gish.EnvFile), forged, 0o600); err != nil {
		t.Fatal(err)
	}
	n.end(t, "s-env2")

	home = start("s-env3")
	checkEnv("s-env3", []string{"IGT_EDITOR=ed", "HOME=" + home}, []string{"LD_PRELOAD=", "HOME=/root", "IGT_COLOR="})
	n.end(t, "s-env3")

	// A session where the user never logs in keeps the settings.
	start("s-env4")
	n.end(t, "s-env4")
	start("s-env5")
	if got := n.run(t, "dora", "echo ${IGT_EDITOR}/${IGT_COLOR:-none}"); got != "ed/none\n" {
		t.Errorf("s-env5: %q, want ed/none", got)
	}
	n.end(t, "s-env5")
}
