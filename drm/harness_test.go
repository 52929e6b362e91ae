package drm

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/igrid/igrid/drm/client"
	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/internal/bus"
	"github.com/igrid/igrid/internal/proto"
	"github.com/igrid/igrid/internal/testutil"
	"github.com/nats-io/nats.go"
)

// testKey is an authorized_keys line for test users.
const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC6Bg9vAihTU/zg3OgHG67wqVhjEwAQf0RsjNgdVQtL7 alice@test"

// grid is a DRM on 127.0.0.1:0 with an embedded NATS and a temp SQLite file.
type grid struct {
	t    *testing.T
	nats *bus.Embedded
	drm  *Server
	api  string // base URL ending in /api/v1
}

func newGrid(t *testing.T) *grid {
	t.Helper()
	return newGridWith(t, nil)
}

// newGridWith is newGrid with mut applied to the DRM's config.
func newGridWith(t *testing.T, mut func(*Config)) *grid {
	t.Helper()
	ns, err := bus.StartEmbedded(bus.EmbeddedConfig{Host: "127.0.0.1", Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	cfg := Config{
		Listen: "127.0.0.1:0", DBPath: filepath.Join(t.TempDir(), "drm.db"), NATSURL: ns.URL(),
		PoliciesDir: "testdata/policies", DefaultClass: "engineering",
		Heartbeat: time.Second, Tick: 20 * time.Millisecond, Logger: log,
	}
	if mut != nil {
		mut(&cfg)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return &grid{t: t, nats: ns, drm: d, api: "http://" + d.Addr() + "/api/v1"}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// user creates a user through the bootstrap path and returns a client
// holding its token.
func (g *grid) user(name string, admin bool) *client.Client {
	g.t.Helper()
	ctx := context.Background()
	if err := g.drm.CreateUser(ctx, name, "password-"+name, "", admin, []string{testKey}); err != nil {
		g.t.Fatal(err)
	}
	tok, err := g.drm.IssueToken(ctx, name)
	if err != nil {
		g.t.Fatal(err)
	}
	return client.New(g.api, tok)
}

// sessionRows counts every stored session.
func (g *grid) sessionRows() int {
	g.t.Helper()
	list, err := g.drm.store.Sessions(context.Background(), store.SessionFilter{})
	if err != nil {
		g.t.Fatal(err)
	}
	return len(list)
}

// do sends a raw request and decodes the JSON answer into a map.
func (g *grid) do(method, path, token, body string) (int, map[string]any) {
	g.t.Helper()
	req, err := http.NewRequest(method, g.api+path, strings.NewReader(body))
	if err != nil {
		g.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	if len(data) > 0 && data[0] == '{' {
		if err := json.Unmarshal(data, &out); err != nil {
			g.t.Fatalf("%s %s: bad JSON %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode, out
}

// errOf returns the code and message of an error answer.
func errOf(body map[string]any) (string, string) {
	e, _ := body["error"].(map[string]any)
	code, _ := e["code"].(string)
	msg, _ := e["message"].(string)
	return code, msg
}

// fakeNode is a node agent simulated over plain NATS: it beats and answers
// start and end commands. The real agent is tested end to end elsewhere.
type fakeNode struct {
	t        *testing.T
	nc       *nats.Conn
	info     proto.NodeInfo
	interval time.Duration
	startErr string // reply to start with this error when set
	silent   bool   // never answer commands
	sub      *nats.Subscription

	mu       sync.Mutex
	commands []proto.Command
	stop     chan struct{}
	stopped  chan struct{}
}

func (g *grid) node(name string, cores, memMB int, interval time.Duration) *fakeNode {
	g.t.Helper()
	nc, err := nats.Connect(g.nats.URL())
	if err != nil {
		g.t.Fatal(err)
	}
	g.t.Cleanup(nc.Close)
	n := &fakeNode{t: g.t, nc: nc, interval: interval, stop: make(chan struct{}), stopped: make(chan struct{}),
		info: proto.NodeInfo{Name: name, OS: proto.OS{Name: "linux", Vendor: "debian", Version: "12"},
			CPU: proto.CPU{Type: "x86_64", Cores: cores, ClockMHz: 2000}, MemoryMB: memMB, DiskMB: 10000,
			Applications: []string{"vim", "python3"}}}
	if n.sub, err = nc.Subscribe(bus.CommandSubject(name), n.answer); err != nil {
		g.t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		g.t.Fatal(err)
	}
	go n.beat()
	g.t.Cleanup(n.Stop)
	return n
}

func (n *fakeNode) beat() {
	defer close(n.stopped)
	t := time.NewTicker(n.interval)
	defer t.Stop()
	for seq := uint64(1); ; seq++ {
		hb := proto.Heartbeat{Node: n.info, Seq: seq, Time: time.Now().UTC(), Interval: proto.Duration(n.interval),
			SSH: proto.SSHConnect{Host: "127.0.0.1", Port: 2201}}
		data, _ := json.Marshal(hb)
		n.nc.Publish(bus.HeartbeatSubject(n.info.Name), data)
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
	}
}

// Stop ends the heartbeats; the node keeps answering commands.
func (n *fakeNode) Stop() {
	select {
	case <-n.stop:
	default:
		close(n.stop)
	}
	<-n.stopped
}

func (n *fakeNode) answer(m *nats.Msg) {
	var cmd proto.Command
	if err := json.Unmarshal(m.Data, &cmd); err != nil {
		n.t.Errorf("node %s: bad command: %v", n.info.Name, err)
		return
	}
	n.mu.Lock()
	n.commands = append(n.commands, cmd)
	startErr, silent := n.startErr, n.silent
	n.mu.Unlock()
	if silent {
		return
	}
	var reply proto.CommandReply
	switch {
	case cmd.Op == proto.OpStart && startErr != "":
		reply.Error = startErr
	case cmd.Op == proto.OpStart:
		reply.Account = "igeng01"
		reply.Connect = proto.Connect{SSH: &proto.SSHConnect{Host: "127.0.0.1", Port: 2201, User: cmd.Start.User}}
	}
	data, _ := json.Marshal(reply)
	m.Respond(data)
}

// received returns the commands of op the node got.
func (n *fakeNode) received(op string) []proto.Command {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []proto.Command
	for _, c := range n.commands {
		if c.Op == op {
			out = append(out, c)
		}
	}
	return out
}

// waitOnline waits until the DRM reports every named node online.
func waitOnline(t *testing.T, c *client.Client, names ...string) {
	t.Helper()
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		nodes, err := c.Nodes(context.Background())
		if err != nil {
			return err
		}
		online := map[string]bool{}
		for _, n := range nodes {
			online[n.Name] = n.Online
		}
		for _, name := range names {
			if !online[name] {
				return fmt.Errorf("node %s not online: %+v", name, nodes)
			}
		}
		return nil
	})
}

// checkFor polls instead of sleeping (internal/testutil).
var checkFor = testutil.Poll

// waitState waits for a session state through the API (internal/testutil).
var waitState = testutil.WaitState
