package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/igrid/igrid/gss"
	"github.com/igrid/igrid/internal/bus"
	gossh "golang.org/x/crypto/ssh"
)

// startNodeGSS is startNode with the user's files kept in a local GSS.
func startNodeGSS(t *testing.T) *testNode {
	t.Helper()
	ns, err := bus.StartEmbedded(bus.EmbeddedConfig{Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o711)
	}
	a, err := New(Config{
		Name: "tn", Cluster: "test", NATSURL: ns.URL(), SSHAddr: "127.0.0.1:0",
		HomeRoot: filepath.Join(dir, "homes"), DataDir: filepath.Join(dir, "data"),
		PoliciesDir: "testdata/policies", AccountTag: randomTag(t),
		Heartbeat: time.Second, RemoveAccounts: true, Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := gss.NewDir(filepath.Join(dir, "gss"))
	if err != nil {
		t.Fatal(err)
	}
	cache, err := gss.NewCache(filepath.Join(dir, "cache"), gss.New(st, gss.Config{Node: "tn", Logger: testLogger(t)}))
	if err != nil {
		t.Fatal(err)
	}
	a.UseGSS(cache)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	n := &testNode{Agent: a}
	if n.nc, err = bus.Connect(ns.URL(), "test-drm"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.nc.Close)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	if n.signer, err = gossh.NewSignerFromKey(priv); err != nil {
		t.Fatal(err)
	}
	n.pubKey = string(gossh.MarshalAuthorizedKey(n.signer.PublicKey()))
	return n
}

// TestHundredSessionsThroughTheAgent: 100 sessions in a row (10 under the
// race detector; gss's TestHundredSessions always runs 100) on one node,
// one class, two users alternating, each over real SSH through GISH as the
// dynamic account: the user finds exactly their own files and history,
// leaves a process behind, and after the end nothing of theirs is left.
func TestHundredSessionsThroughTheAgent(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: sessions run as real dynamic accounts made with useradd")
	}
	n := startNodeGSS(t)
	users := []string{"alice", "bob"}
	history := map[string]string{}
	rounds := 100
	if raceEnabled {
		rounds = 10 // each round re-execs GISH four times; the race build makes that ~20x slower
	}
	for i := range rounds {
		user := users[i%2]
		id := fmt.Sprintf("s-%03d", i)
		now := time.Now()
		if r := n.request(t, n.startCmd(id, user, now.Add(-time.Second), now.Add(time.Hour))); r.Error != "" {
			t.Fatalf("session %d: %s", i, r.Error)
		}
		acct, _ := n.Accounts().Lookup(id)
		out, want := n.run(t, user, "ls -A"), ""
		if history[user] != "" {
			want = ".igrid_history\nmine.txt\n"
			out += n.run(t, user, "cat .igrid_history mine.txt")
			want += history[user] + fmt.Sprintf("%s %d\n", user, i-2)
		}
		if out != want {
			t.Fatalf("session %d (%s on %s): found %q, want %q", i, user, acct.Name, out, want)
		}
		line := fmt.Sprintf("session %d", i)
		n.run(t, user, fmt.Sprintf("echo %s >> .igrid_history; echo %s %d > mine.txt", line, user, i))
		history[user] += line + "\n"
		cl, err := n.dial(user)
		if err != nil {
			t.Fatal(err)
		}
		bg, _ := cl.NewSession()
		if err := bg.Start("sleep 1000"); err != nil {
			t.Fatal(err)
		}
		checkFor(t, 10*time.Second, func() error {
			if len(pidsOf(acct.UID)) == 0 {
				return fmt.Errorf("session %d: the background work has not started", i)
			}
			return nil
		})
		n.end(t, id)
		cl.Close()
		if pids := pidsOf(acct.UID); len(pids) != 0 {
			t.Fatalf("session %d: processes of %s after the end: %v", i, acct.Name, pids)
		}
		if ents, _ := os.ReadDir(acct.Home); len(ents) != 0 {
			t.Fatalf("session %d: home of %s not empty after the end", i, acct.Name)
		}
	}
}

// run runs one command line over SSH as user and returns its output.
func (n *testNode) run(t *testing.T, user, line string) string {
	t.Helper()
	cl, err := n.dial(user)
	if err != nil {
		t.Fatalf("login as %s: %v", user, err)
	}
	defer cl.Close()
	ss, err := cl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := ss.CombinedOutput(line)
	return strings.ReplaceAll(string(out), "\r\n", "\n")
}

// TestAffinityReportsCachedUsers: after a session the node reports the
// user as holding fresh cached files.
func TestAffinityReportsCachedUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: sessions run as real dynamic accounts made with useradd")
	}
	n := startNodeGSS(t)
	now := time.Now()
	if r := n.request(t, n.startCmd("s-aff", "carol", now.Add(-time.Second), now.Add(time.Hour))); r.Error != "" {
		t.Fatal(r.Error)
	}
	n.run(t, "carol", "echo x > notes.txt")
	if _, cached, err := n.Affinity(context.Background()); err != nil || len(cached) != 0 {
		t.Errorf("cached users during the session = %v %v, want none (nothing saved yet)", cached, err)
	}
	n.end(t, "s-aff")
	reserved, cached, err := n.Affinity(context.Background())
	if err != nil || strings.Join(cached, ",") != "carol" || len(reserved) != 0 {
		t.Errorf("affinity after the session = reserved %v cached %v %v; want carol cached", reserved, cached, err)
	}
}

// TestReservedAccountThroughTheAgent: with a hold time, a frequent user's
// account is reserved after their session, reported, not given to another
// user, and given back to them with their files.
func TestReservedAccountThroughTheAgent(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: sessions run as real dynamic accounts made with useradd")
	}
	old := FrequentSessions
	FrequentSessions = 1
	t.Cleanup(func() { FrequentSessions = old })
	n := startNodeGSS(t)
	if err := n.SetHold("tworker", time.Hour); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if r := n.request(t, n.startCmd("s-r1", "dora", now.Add(-time.Second), now.Add(time.Hour))); r.Error != "" {
		t.Fatal(r.Error)
	}
	first, _ := n.Accounts().Lookup("s-r1")
	n.run(t, "dora", "echo mine > notes.txt")
	n.end(t, "s-r1")
	if reserved, _, _ := n.Affinity(context.Background()); strings.Join(reserved, ",") != "dora" {
		t.Fatalf("reserved after dora's session = %v", reserved)
	}
	if r := n.request(t, n.startCmd("s-r2", "eve", now.Add(-time.Second), now.Add(time.Hour))); r.Error != "" {
		t.Fatal(r.Error)
	}
	if other, _ := n.Accounts().Lookup("s-r2"); other.Name == first.Name {
		t.Fatalf("eve got dora's reserved account %s", first.Name)
	}
	if r := n.request(t, n.startCmd("s-r3", "dora", now.Add(-time.Second), now.Add(time.Hour))); r.Error != "" {
		t.Fatal(r.Error)
	}
	back, _ := n.Accounts().Lookup("s-r3")
	if back.Name != first.Name {
		t.Errorf("dora came back on %s, want her reserved %s", back.Name, first.Name)
	}
	if got := n.run(t, "dora", "cat notes.txt"); got != "mine\n" {
		t.Errorf("dora's file on her reserved account = %q", got)
	}
	n.end(t, "s-r2")
	n.end(t, "s-r3")
}
