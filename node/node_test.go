package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/igrid/igrid/internal/bus"
	"github.com/igrid/igrid/internal/proto"
	"github.com/igrid/igrid/policies"
	"github.com/prometheus/procfs"
)

func TestReadCapacity(t *testing.T) {
	set, err := policies.LoadDir("testdata/policies")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		t.Fatal(err)
	}
	info, err := ReadCapacity(fs, "n1", "c1", t.TempDir(), set)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "n1" || info.Cluster != "c1" || info.TrustLevel != "standard" {
		t.Errorf("identity: %+v", info)
	}
	if info.CPU.Cores != runtime.NumCPU() || info.CPU.Type == "" || info.MemoryMB <= 0 || info.DiskMB <= 0 {
		t.Errorf("capacity: cpu %+v memory %d MB disk %d MB", info.CPU, info.MemoryMB, info.DiskMB)
	}
	if runtime.GOARCH == "amd64" && info.CPU.Type != "x86_64" {
		t.Errorf("cpu type %q, want x86_64", info.CPU.Type)
	}
	if info.OS.Name != "linux" || info.OS.Vendor == "" {
		t.Errorf("os: %+v", info.OS)
	}
	for _, app := range []string{"id", "sleep", "ls"} {
		if !slices.Contains(info.Applications, app) {
			t.Errorf("applications %v lack %s", info.Applications, app)
		}
	}
	if slices.Contains(info.Applications, "no-such-tool-igrid") {
		t.Errorf("applications %v list a tool that is not installed", info.Applications)
	}
}

func TestReadOSRelease(t *testing.T) {
	tests := []struct {
		name  string
		paths []string
		want  proto.OS
	}{
		{"debian", []string{"testdata/os-release/debian"}, proto.OS{Name: "linux", Vendor: "debian", Version: "12"}},
		{"quotes and comments", []string{"testdata/os-release/alpine"}, proto.OS{Name: "linux", Vendor: "alpine", Version: "3.20.1"}},
		{"fallback path", []string{"testdata/os-release/missing", "testdata/os-release/debian"}, proto.OS{Name: "linux", Vendor: "debian", Version: "12"}},
		{"none", []string{"testdata/os-release/missing"}, proto.OS{Name: "linux"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readOSRelease(tc.paths)
			if err != nil || got != tc.want {
				t.Errorf("readOSRelease = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestHeartbeat(t *testing.T) {
	n := startNode(t)
	sub, err := n.nc.SubscribeSync(bus.HeartbeatSubject("tn"))
	if err != nil {
		t.Fatal(err)
	}
	var beats []proto.Heartbeat
	for len(beats) < 2 {
		msg, err := sub.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("heartbeat %d: %v", len(beats)+1, err)
		}
		var hb proto.Heartbeat
		if err := json.Unmarshal(msg.Data, &hb); err != nil {
			t.Fatalf("heartbeat %q: %v", msg.Data, err)
		}
		beats = append(beats, hb)
	}
	hb := beats[1]
	if hb.Seq <= beats[0].Seq || hb.Node.Name != "tn" || hb.Interval.D() != 100*time.Millisecond {
		t.Errorf("heartbeats %+v then %+v", beats[0], hb)
	}
	if hb.SSH.Host != "127.0.0.1" || fmt.Sprint(hb.SSH.Port) != strings.Split(n.SSHAddr(), ":")[1] {
		t.Errorf("heartbeat ssh %+v, server on %s", hb.SSH, n.SSHAddr())
	}
	if hb.Node.CPU.Cores == 0 || hb.Load.DiskFreeMB == 0 || hb.Load.MemUsedMB == 0 || hb.Time.IsZero() {
		t.Errorf("heartbeat lacks capacity or load: %+v", hb)
	}
	if hb.Sessions == nil || len(hb.Sessions) != 0 || hb.Load.Sessions != 0 {
		t.Errorf("idle node reports sessions %v (%d)", hb.Sessions, hb.Load.Sessions)
	}
}

func TestStartAndEndCommands(t *testing.T) {
	n := startNode(t)
	now := time.Now()
	cmd := n.startCmd("s-1", "alice", now.Add(-time.Second), now.Add(time.Hour))
	r := n.request(t, cmd)
	if r.Error != "" {
		t.Fatalf("start: %s", r.Error)
	}
	want := proto.SSHConnect{Host: "127.0.0.1", Port: n.sshPort, User: "alice"}
	if !strings.HasPrefix(r.Account, "ignt") || r.Connect.SSH == nil || *r.Connect.SSH != want {
		t.Fatalf("start reply %+v, want an ignt account and ssh %+v", r, want)
	}
	if again := n.request(t, cmd); again.Error != "" || again.Account != r.Account {
		t.Errorf("repeated start = %+v, want the same answer %+v", again, r)
	}
	acct, ok := n.Accounts().Lookup("s-1")
	if !ok || acct.Name != r.Account {
		t.Fatalf("account of s-1: %+v %v", acct, ok)
	}
	b, err := n.Lookup("alice", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if b.Account != r.Account || b.UID != acct.UID || b.Home != acct.Home || b.Class != "tworker" ||
		b.Node != "tn" || len(b.AuthorizedKeys) != 1 || b.MaxProcesses != 32 || b.Executables["id"] == "" {
		t.Errorf("binding %+v", b)
	}
	if b.Executables["ls"] == "" || b.Executables["no-such-tool-igrid"] != "" {
		t.Errorf("binding executables %v", b.Executables)
	}
	checkFor(t, 5*time.Second, func() error {
		if ids := n.sessionIDs(); !slices.Equal(ids, []string{"s-1"}) {
			return fmt.Errorf("sessions %v", ids)
		}
		return nil
	})

	n.end(t, "s-1")
	n.end(t, "s-1") // idempotent
	n.end(t, "s-unknown")
	if _, ok := n.Accounts().Lookup("s-1"); ok {
		t.Error("account still bound after end")
	}
	if _, err := n.Lookup("alice", time.Now()); !errors.Is(err, ErrEnded) || !strings.Contains(err.Error(), "session s-1 ended at") {
		t.Errorf("lookup after end: %v", err)
	}
	if err := n.allFree(t); err != nil {
		t.Error(err)
	}
}

func TestLookupRefusals(t *testing.T) {
	n := startNode(t)
	start := time.Now().Add(time.Hour).Truncate(time.Second)
	if r := n.request(t, n.startCmd("s-later", "bob", start, start.Add(time.Hour))); r.Error != "" {
		t.Fatal(r.Error)
	}
	tests := []struct {
		name, user string
		at         time.Time
		sentinel   error
		want       string
	}{
		{"unknown user", "mallory", time.Now(), ErrNoSession, "no session for user mallory on node tn"},
		{"before start", "bob", time.Now(), ErrNotYet, "session s-later starts at " + start.UTC().Format(time.RFC3339)},
		{"after end", "bob", start.Add(2 * time.Hour), ErrEnded, "session s-later ended at " + start.Add(time.Hour).UTC().Format(time.RFC3339)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := n.Lookup(tc.user, tc.at)
			if b != nil || !errors.Is(err, tc.sentinel) || err.Error() != tc.want {
				t.Errorf("Lookup(%s) = %v, %v; want %q", tc.user, b, err, tc.want)
			}
		})
	}
	if b, err := n.Lookup("bob", start.Add(time.Minute)); err != nil || b.SessionID != "s-later" {
		t.Errorf("lookup inside the window = %v, %v", b, err)
	}
}

func TestFailedStartLeavesNothing(t *testing.T) {
	n := startNode(t)
	now := time.Now()
	tests := []struct {
		name   string
		mutate func(*proto.StartSession)
		want   string
	}{
		{"unknown class", func(s *proto.StartSession) { s.Class = "nope" }, `unknown class "nope"`},
		{"class without pool", func(s *proto.StartSession) { s.Class = "tbase" }, "class tbase has no account pool"},
		{"bad key", func(s *proto.StartSession) { s.AuthorizedKeys = []string{"ssh-ed25519 garbage"} }, "authorized_keys[0]"},
		{"bad user", func(s *proto.StartSession) { s.User = "a b" }, "not a user name"},
		{"end before start", func(s *proto.StartSession) { s.End = s.Start.Add(-time.Minute) }, "is not after start"},
		{"window over", func(s *proto.StartSession) { s.Start, s.End = now.Add(-time.Hour), now.Add(-time.Minute) }, "already ended"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := n.startCmd("s-bad", "carol", now, now.Add(time.Hour))
			tc.mutate(cmd.Start)
			r := n.request(t, cmd)
			if !strings.Contains(r.Error, tc.want) || r.Account != "" {
				t.Errorf("reply %+v, want an error with %q", r, tc.want)
			}
			if _, ok := n.Accounts().Lookup("s-bad"); ok {
				t.Error("a failed start left a bound account")
			}
			if err := n.allFree(t); err != nil {
				t.Error(err)
			}
		})
	}
	if r := n.request(t, proto.Command{Op: "reboot"}); !strings.Contains(r.Error, `op "reboot"`) {
		t.Errorf("unknown op reply %+v", r)
	}
}

func TestPoolExhaustedIsRefused(t *testing.T) {
	n := startNode(t)
	now := time.Now()
	for i := range 2 {
		if r := n.request(t, n.startCmd(fmt.Sprintf("s-%d", i), "dave", now, now.Add(time.Hour))); r.Error != "" {
			t.Fatal(r.Error)
		}
	}
	r := n.request(t, n.startCmd("s-3", "dave", now, now.Add(time.Hour)))
	if r.Error != "all 2 accounts of class tworker are in use" {
		t.Errorf("third start: %+v", r)
	}
}

func TestSessionEndsLocallyAtItsEnd(t *testing.T) {
	n := startNode(t)
	now := time.Now()
	if r := n.request(t, n.startCmd("s-short", "erin", now, now.Add(500*time.Millisecond))); r.Error != "" {
		t.Fatal(r.Error)
	}
	checkFor(t, 10*time.Second, func() error {
		if _, ok := n.Accounts().Lookup("s-short"); ok || len(n.sessionIDs()) != 0 {
			return fmt.Errorf("session still running: %v", n.sessionIDs())
		}
		return nil
	})
	// The session leaves the table before its account is clean and free.
	checkFor(t, 10*time.Second, func() error { return n.allFree(t) })
}

func TestShutdownEndsSessionsAndRemovesAccounts(t *testing.T) {
	n := startNode(t)
	now := time.Now()
	if r := n.request(t, n.startCmd("s-1", "ivan", now, now.Add(time.Hour))); r.Error != "" {
		t.Fatal(r.Error)
	}
	accts := n.Accounts().Accounts()
	if len(accts) != 2 {
		t.Fatalf("pool accounts %v, want 2", accts)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if ids := n.sessionIDs(); len(ids) != 0 {
		t.Errorf("sessions after shutdown: %v", ids)
	}
	for _, a := range accts {
		if _, err := os.Lstat(a.Home); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("home %s after shutdown: %v", a.Home, err)
		}
		if n.Accounts().Privileged() {
			if _, err := user.Lookup(a.Name); !errors.As(err, new(user.UnknownUserError)) {
				t.Errorf("account %s after shutdown: %v", a.Name, err)
			}
		}
	}
}
