package node

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/igrid/igrid/accounts"
)

// TestSSHSessionLifecycle logs in over real SSH as the bound user, runs a
// command through GISH as the dynamic account, leaves work running, ends
// the session and checks the account is clean and free again.
func TestSSHSessionLifecycle(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: sessions run as real dynamic accounts made with useradd")
	}
	n := startNode(t)
	now := time.Now()
	if r := n.request(t, n.startCmd("s-ssh", "frank", now.Add(-time.Second), now.Add(time.Hour))); r.Error != "" {
		t.Fatal(r.Error)
	}
	if r := n.request(t, n.startCmd("s-later", "gina", now.Add(time.Hour), now.Add(2*time.Hour))); r.Error != "" {
		t.Fatal(r.Error)
	}
	acct, _ := n.Accounts().Lookup("s-ssh")
	for _, user := range []string{"mallory", "gina"} {
		if cl, err := n.dial(user); err == nil {
			cl.Close()
			t.Errorf("login of %s accepted; want refused", user)
		}
	}

	cl, err := n.dial("frank")
	if err != nil {
		t.Fatalf("login inside the window: %v", err)
	}
	defer cl.Close()
	ss, err := cl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := ss.CombinedOutput("id -u")
	if got := strings.TrimSpace(string(out)); err != nil || got != strconv.Itoa(int(acct.UID)) {
		t.Fatalf("id -u over ssh = %q, %v; want %d (%s)", got, err, acct.UID, acct.Name)
	}
	bg, err := cl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := bg.Start("sleep 1000"); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, func() error {
		for _, pid := range pidsOf(acct.UID) {
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.HasPrefix(string(b), "sleep\x00") ||
				strings.Contains(string(b), "/sleep\x00") {
				return nil
			}
		}
		return fmt.Errorf("no sleep of %s running yet: %v", acct.Name, pidsOf(acct.UID))
	})

	n.end(t, "s-ssh")
	if pids := pidsOf(acct.UID); len(pids) != 0 {
		t.Errorf("processes of %s after end: %v", acct.Name, pids)
	}
	if ents, err := os.ReadDir(acct.Home); err != nil || len(ents) != 0 {
		t.Errorf("home %s after end: %d entries, %v", acct.Home, len(ents), err)
	}
	if cl2, err := n.dial("frank"); err == nil {
		cl2.Close()
		t.Error("login accepted after the session ended")
	}
	again, err := n.Accounts().Bind("tworker", "s-next")
	if err != nil || again.Name != acct.Name {
		t.Errorf("bind after end = %+v, %v; want the freed %s", again, err, acct.Name)
	}
}

func pidsOf(uid uint32) []int {
	pids, err := accounts.ProcessesOf(uid)
	if err != nil {
		panic(err)
	}
	return pids
}

func TestEndWarningScheduledForLongWindows(t *testing.T) {
	n := startNode(t)
	now := time.Now()
	tests := []struct {
		id     string
		window time.Duration
		timers int
	}{
		{"s-long", 10 * time.Minute, 2},
		{"s-five", MinWarnWindow, 2},
		{"s-brief", 4 * time.Minute, 1},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			if r := n.request(t, n.startCmd(tc.id, "hank", now, now.Add(tc.window))); r.Error != "" {
				t.Fatal(r.Error)
			}
			defer n.end(t, tc.id)
			if s := n.getSession(tc.id); s == nil || len(s.timers) != tc.timers {
				t.Errorf("session %s: %v timers, want %d (warning only for windows >= %v)", tc.id, s, tc.timers, MinWarnWindow)
			}
		})
	}
}
