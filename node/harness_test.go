package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/igrid/igrid/gish"
	"github.com/igrid/igrid/internal/bus"
	"github.com/igrid/igrid/internal/proto"
	"github.com/igrid/igrid/internal/testutil"
	"github.com/nats-io/nats.go"
	gossh "golang.org/x/crypto/ssh"
)

func TestMain(m *testing.M) {
	gish.MaybeReexec()
	if os.Getenv(agentChildEnv) != "" {
		os.Exit(agentChild())
	}
	os.Exit(m.Run())
}

// testNode is an agent on a private embedded NATS server, with a client
// connection that plays the DRM.
type testNode struct {
	*Agent
	nc     *nats.Conn
	signer gossh.Signer
	pubKey string // authorized_keys line of signer
}

// startNode starts an agent named "tn" with the testdata policies.
func startNode(t *testing.T) *testNode {
	t.Helper()
	return startNodeWith(t, "testdata/policies")
}

// startNodeWith starts the test agent on the policy directory dir.
func startNodeWith(t *testing.T, policiesDir string) *testNode {
	t.Helper()
	return startNodeOpts(t, func(_ *bus.Embedded, c *Config) { c.PoliciesDir = policiesDir })
}

// startNodeOpts starts the test agent with its config changed by opt,
// which may also use the NATS server first (e.g. to publish policies).
func startNodeOpts(t *testing.T, opt func(*bus.Embedded, *Config)) *testNode {
	t.Helper()
	ns, err := bus.StartEmbedded(bus.EmbeddedConfig{Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	dir := t.TempDir()
	// Dynamic accounts must traverse to their homes inside the temp dir.
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o711)
	}
	cfg := Config{
		Name: "tn", Cluster: "test", NATSURL: ns.URL(), SSHAddr: "127.0.0.1:0",
		HomeRoot: filepath.Join(dir, "homes"), DataDir: filepath.Join(dir, "data"),
		AccountTag: randomTag(t),
		Heartbeat:  100 * time.Millisecond, RemoveAccounts: true, Logger: testLogger(t),
	}
	opt(ns, &cfg)
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
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
	nc, err := bus.Connect(ns.URL(), "test-drm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return &testNode{Agent: a, nc: nc, signer: signer, pubKey: string(gossh.MarshalAuthorizedKey(signer.PublicKey()))}
}

// randomTag keeps account names of concurrent or crashed test runs apart.
func randomTag(t *testing.T) string {
	t.Helper()
	b := make([]byte, 2)
	rand.Read(b)
	return "t" + hex.EncodeToString(b)
}

func testLogger(t *testing.T) *slog.Logger {
	level := slog.LevelError
	if testing.Verbose() {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// startCmd is a StartSession for user in class tworker over [start, end).
func (n *testNode) startCmd(id, user string, start, end time.Time) proto.Command {
	return proto.Command{Op: proto.OpStart, Start: &proto.StartSession{
		SessionID: id, User: user, Class: "tworker", Start: start, End: end,
		SLA: proto.SLA{UsageTime: proto.Duration(end.Sub(start))}, AuthorizedKeys: []string{n.pubKey},
	}}
}

// request sends a command the way the DRM does and decodes the reply.
func (n *testNode) request(t *testing.T, cmd proto.Command) proto.CommandReply {
	t.Helper()
	b, _ := json.Marshal(cmd)
	msg, err := n.nc.Request(bus.CommandSubject(n.cfg.Name), b, 30*time.Second)
	if err != nil {
		t.Fatalf("command %s: %v", cmd.Op, err)
	}
	var r proto.CommandReply
	if err := json.Unmarshal(msg.Data, &r); err != nil {
		t.Fatalf("reply %q: %v", msg.Data, err)
	}
	return r
}

func (n *testNode) end(t *testing.T, id string) {
	t.Helper()
	if r := n.request(t, proto.Command{Op: proto.OpEnd, End: &proto.EndSession{SessionID: id, Reason: "test"}}); r.Error != "" {
		t.Fatalf("end %s: %s", id, r.Error)
	}
}

// dial logs in to the node's SSH server as user.
func (n *testNode) dial(user string) (*gossh.Client, error) {
	return gossh.Dial("tcp", n.SSHAddr(), &gossh.ClientConfig{
		User: user, Auth: []gossh.AuthMethod{gossh.PublicKeys(n.signer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
	})
}

// allFree checks every account of the pool can be bound, i.e. none is left
// bound or quarantined, and frees them again.
func (n *testNode) allFree(t *testing.T) error {
	t.Helper()
	m := n.Accounts()
	var bound []string
	defer func() {
		for _, id := range bound {
			m.Release(id)
		}
	}()
	for i := range 2 {
		id := fmt.Sprintf("probe-%d", i)
		if _, err := m.Bind("tworker", id); err != nil {
			return fmt.Errorf("account %d of 2 not free: %w", i+1, err)
		}
		bound = append(bound, id)
	}
	return nil
}

// checkFor polls instead of sleeping (internal/testutil).
var checkFor = testutil.CheckFor
