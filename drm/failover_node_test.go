package drm_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/igrid/igrid/drm"
	"github.com/igrid/igrid/drm/client"
	"github.com/igrid/igrid/internal/bus"
	"github.com/igrid/igrid/internal/proto"
	"github.com/igrid/igrid/internal/testutil"
	"github.com/igrid/igrid/node"
)

const nodeBeat = 200 * time.Millisecond

// TestFailoverRealNodes: two real node agents (real pool accounts); the
// one running a session stops; the session becomes lost within 3
// heartbeats, the user is told why, and the replacement runs on the other
// node.
func TestFailoverRealNodes(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: node agents create real pool accounts with useradd")
	}
	ns, err := bus.StartEmbedded(bus.EmbeddedConfig{Host: "127.0.0.1", Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("FAILOVER_DEBUG") != "" {
		quiet = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	d, err := drm.New(drm.Config{Listen: "127.0.0.1:0", DBPath: filepath.Join(t.TempDir(), "drm.db"), NATSURL: ns.URL(),
		PoliciesDir: "testdata/policies", DefaultClass: "engineering", Tick: 20 * time.Millisecond, Logger: quiet,
		Heartbeat:          nodeBeat, // also the grace after start before a silent node counts as lost
		ReplaceLostClasses: []string{"engineering"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Shutdown(context.Background()) })
	agents := map[string]*node.Agent{}
	for _, name := range []string{"fa", "fb"} {
		agents[name] = startAgent(t, name, ns.URL(), quiet)
	}
	ctx := context.Background()
	if err := d.CreateUser(ctx, "alice", "password-alice", "", false, nil); err != nil {
		t.Fatal(err)
	}
	tok, err := d.IssueToken(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	c := client.New("http://"+d.Addr()+"/api/v1", tok)
	testutil.CheckFor(t, 10*time.Second, func() error {
		nodes, err := c.Nodes(ctx)
		if err != nil {
			return err
		}
		online := 0
		for _, n := range nodes {
			if n.Online {
				online++
			}
		}
		if online != 2 {
			return fmt.Errorf("%d nodes online", online)
		}
		return nil
	})
	s, err := c.RequestSession(ctx, proto.Template{UsageTime: proto.Duration(30 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	running := testutil.WaitState(t, c, s.ID, proto.StateRunning)
	other := map[string]string{"fa": "fb", "fb": "fa"}[running.Node]
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stopped := time.Now()
	if err := agents[running.Node].Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	down := time.Now() // Shutdown stops the beats first, then ends sessions and removes accounts
	lost := testutil.WaitState(t, c, s.ID, proto.StateLost)
	t.Logf("lost %s after the node began to stop, %s after its shutdown returned (heartbeat %s)",
		time.Since(stopped).Round(time.Millisecond), time.Since(down).Round(time.Millisecond), nodeBeat)
	if !strings.Contains(lost.Reason, "missed 3 heartbeats") || !strings.Contains(lost.Reason, "booked on "+other) {
		t.Fatalf("lost reason %q", lost.Reason)
	}
	list, err := c.Sessions(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("sessions %+v, %v", list, err)
	}
	repl := testutil.WaitState(t, c, list[1].ID, proto.StateRunning)
	if repl.Node != other || repl.Account == "" || repl.Connect.SSH == nil {
		t.Fatalf("replacement %+v", repl)
	}
}

func startAgent(t *testing.T, name, natsURL string, log *slog.Logger) *node.Agent {
	t.Helper()
	return startAgentIn(t, name, natsURL, "test", 0, log)
}

// startAgentIn starts a real node agent named name in cluster, sampling
// its sessions every sample (0: the agent's default).
func startAgentIn(t *testing.T, name, natsURL, cluster string, sample time.Duration, log *slog.Logger) *node.Agent {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o711) // accounts reach their homes inside the temp dir
	}
	a, err := node.New(node.Config{Name: name, Cluster: cluster, NATSURL: natsURL, SSHAddr: "127.0.0.1:0",
		HomeRoot: filepath.Join(dir, "homes"), DataDir: filepath.Join(dir, "data"), PoliciesDir: "testdata/policies",
		AccountTag: fmt.Sprintf("%s%d", name[1:], time.Now().UnixNano()%1000), Heartbeat: nodeBeat,
		SampleInterval: sample, RemoveAccounts: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		a.Shutdown(ctx)
	})
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	return a
}
