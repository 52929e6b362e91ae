package devgrid

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/igrid/igrid/drm/client"
	"github.com/igrid/igrid/internal/proto"
)

// TestSessionEndToEnd books a session through the API, enters it over SSH
// with a PTY, runs allowed and forbidden commands, ends it and checks the
// account is clean and free again.
func TestSessionEndToEnd(t *testing.T) {
	g := startGrid(t, 2)
	in, err := ReadInfo(g.DataDir())
	if err != nil {
		t.Fatalf("dev.json: %v", err)
	}
	if in.Token == "" || in.AdminToken == "" || in.SSHKey == "" || len(in.Nodes) != 2 || in.PoliciesDir == "" {
		t.Fatalf("dev.json incomplete: %+v", in)
	}
	ctx := context.Background()
	c := client.New(in.APIURL, in.Token)
	s, err := c.RequestSession(ctx, proto.Template{UsageTime: proto.Duration(10 * time.Minute), Node: "node-a"})
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	s = waitState(t, c, s.ID, proto.StateRunning)
	if s.Account == "" || s.Connect.SSH == nil || s.Connect.SSH.User != "demo" {
		t.Fatalf("running session lacks account or connect info: %+v", s)
	}
	wantUID := accountUID(t, s.Account)

	cl, err := dialSession(s, demoSigner(t, *in))
	if err != nil {
		t.Fatalf("ssh login to a running session: %v", err)
	}
	term := openTerminal(t, cl)
	checkFor(t, 10*time.Second, func() error {
		if !strings.Contains(term.String(), "demo@node-a") {
			return fmt.Errorf("no prompt yet: %q", term.String())
		}
		return nil
	})
	term.run(t, "echo hello-$((6*7))", "hello-42")
	term.run(t, "id -u", "\n"+strconv.Itoa(wantUID))
	out := term.run(t, "echo ok-$((1+1)); bash", "denied")
	if strings.Contains(out, "ok-2") || !strings.Contains(out, `"bash"`) || !strings.Contains(out, "engineering") {
		t.Errorf("denied line ran or lacks its reason: %q", out)
	}

	ss, err := cl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if b, err := ss.CombinedOutput("echo via-$((2+3))"); err != nil || !strings.Contains(string(b), "via-5") {
		t.Errorf("ssh host cmd: %q, %v", b, err)
	}
	ss, _ = cl.NewSession()
	if b, err := ss.CombinedOutput("sh -c id"); err == nil || !strings.Contains(string(b), "denied") {
		t.Errorf("ssh host 'sh -c id' was not denied: %q, %v", b, err)
	}
	term.run(t, "echo keep-me > notes.txt; echo saved", "saved")
	fmt.Fprintf(term.in, "sleep 300\n")
	if os.Geteuid() == 0 {
		checkFor(t, 5*time.Second, func() error { return wantProcs(wantUID, true) })
	}

	if _, err := c.EndSession(ctx, s.ID); err != nil {
		t.Fatalf("end: %v", err)
	}
	waitState(t, c, s.ID, proto.StateEnded)
	if os.Geteuid() == 0 {
		checkFor(t, 10*time.Second, func() error { return wantProcs(wantUID, false) })
	}
	home := filepath.Join(g.DataDir(), "homes", "node-a", s.Account)
	if ents, err := os.ReadDir(home); err != nil || len(ents) != 0 {
		t.Errorf("home %s after the session: %v entries, err %v; want empty", home, len(ents), err)
	}
	if _, err := dialSession(s, demoSigner(t, *in)); err == nil {
		t.Error("ssh login accepted after the session ended")
	}
	s2, err := c.RequestSession(ctx, proto.Template{UsageTime: proto.Duration(5 * time.Minute), Node: "node-a"})
	if err != nil {
		t.Fatal(err)
	}
	if s2 = waitState(t, c, s2.ID, proto.StateRunning); s2.Account != s.Account {
		t.Errorf("next session got account %s, want the freed %s back", s2.Account, s.Account)
	}
	// The user's files came back from GSS into the new session's home.
	cl2, err := dialSession(s2, demoSigner(t, *in))
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	ss, _ = cl2.NewSession()
	if b, err := ss.CombinedOutput("cat notes.txt"); err != nil || string(b) != "keep-me\n" {
		t.Errorf("notes.txt in the next session: %q, %v; want keep-me", b, err)
	}
}

func accountUID(t *testing.T, account string) int {
	t.Helper()
	if os.Geteuid() != 0 {
		return os.Getuid()
	}
	u, err := user.Lookup(account)
	if err != nil {
		t.Fatalf("dynamic account %s: %v", account, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	return uid
}

// wantProcs checks whether processes of uid exist.
func wantProcs(uid int, want bool) error {
	pids := procsOf(uid)
	if (len(pids) > 0) != want {
		return fmt.Errorf("processes of uid %d: %v, want any=%v", uid, pids, want)
	}
	return nil
}

func procsOf(uid int) []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) > 1 && f[0] == "Uid:" && f[1] == strconv.Itoa(uid) {
				out = append(out, e.Name())
			}
		}
	}
	return out
}
