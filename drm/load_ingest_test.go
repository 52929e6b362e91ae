package drm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/igrid/igrid/drm"
	"github.com/igrid/igrid/drm/client"
	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/gmma"
	"github.com/igrid/igrid/gmma/cgroup"
	"github.com/igrid/igrid/gmma/gmmatest"
	"github.com/igrid/igrid/gmma/sensor"
	"github.com/igrid/igrid/internal/bus"
	"github.com/igrid/igrid/internal/proto"
	"github.com/igrid/igrid/internal/testutil"
	"github.com/igrid/igrid/node"
)

// gridSeen records every grid-CPU value the grid aggregate carried per node.
type gridSeen struct {
	mu   sync.Mutex
	vals map[string][]float64
}

func (g *gridSeen) receive(m *nats.Msg) {
	var ga gmma.GridAggregate
	if json.Unmarshal(m.Data, &ga) != nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, l := range ga.Loads {
		g.vals[l.Node] = append(g.vals[l.Node], l.GridCPU)
	}
}

func (g *gridSeen) last(n string) (float64, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	v := g.vals[n]
	if len(v) == 0 {
		return 0, false
	}
	return v[len(v)-1], true
}

func (g *gridSeen) saw(n string, v float64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Contains(g.vals[n], v)
}

// TestDRMRanksByGridLoad: three levels (two real node agents, a cluster
// aggregator, a grid aggregator) and a DRM. A CPU hog runs in a session
// cgroup that node ga's GMMA watches; the load climbs the hierarchy, and
// the DRM places a new session on gb, its decision trace showing ga's grid
// CPU share exactly as the grid aggregate carried it.
func TestDRMRanksByGridLoad(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: node agents create real accounts and cgroups")
	}
	ns, err := bus.StartEmbedded(bus.EmbeddedConfig{Host: "127.0.0.1", Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	d, err := drm.New(drm.Config{Listen: "127.0.0.1:0", DBPath: filepath.Join(t.TempDir(), "drm.db"), NATSURL: ns.URL(),
		PoliciesDir: "testdata/policies", DefaultClass: "engineering", Tick: 20 * time.Millisecond, Logger: quiet,
		Heartbeat: nodeBeat})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Shutdown(context.Background()) })
	startAggregators(t, ns.URL(), "gl")
	seen := &gridSeen{vals: map[string][]float64{}}
	watch, err := bus.Connect(ns.URL(), "test-grid-watch")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(watch.Close)
	if _, err := watch.Subscribe(gmma.GridSubject, seen.receive); err != nil {
		t.Fatal(err)
	}
	a := startAgentIn(t, "ga", ns.URL(), "gl", 100*time.Millisecond, quiet)
	startAgentIn(t, "gb", ns.URL(), "gl", 100*time.Millisecond, quiet)
	runHog(t, a)

	testutil.CheckFor(t, 30*time.Second, func() error {
		ga, okA := seen.last("ga")
		gb, okB := seen.last("gb")
		if !okA || !okB || ga < 20 || gb != 0 {
			return fmt.Errorf("grid aggregate: ga grid CPU %.1f (%v), gb %.1f (%v)", ga, okA, gb, okB)
		}
		return nil
	})
	ctx := context.Background()
	if err := d.CreateUser(ctx, "alice", "password-alice", "", false, nil); err != nil {
		t.Fatal(err)
	}
	tok, err := d.IssueToken(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	c := client.New("http://"+d.Addr()+"/api/v1", tok)
	s, err := c.RequestSession(ctx, proto.Template{UsageTime: proto.Duration(30 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	running := testutil.WaitState(t, c, s.ID, proto.StateRunning)
	checkGridTrace(t, c, running, seen)
}

// checkGridTrace: the session went to gb, and its decision trace shows ga's
// grid CPU share above gb's, exactly as a grid aggregate carried it.
func checkGridTrace(t *testing.T, c *client.Client, running *proto.Session, seen *gridSeen) {
	t.Helper()
	ctx := context.Background()
	ex, err := c.Explain(ctx, running.ID)
	if err != nil {
		t.Fatal(err)
	}
	var tr drm.Trace
	if err := json.Unmarshal(ex.Explain, &tr); err != nil {
		t.Fatal(err)
	}
	comp := map[string]map[string]float64{}
	for _, n := range tr.Nodes {
		comp[n.Node] = n.Components
	}
	t.Logf("placed on %s; trace components: ga %v, gb %v", running.Node, comp["ga"], comp["gb"])
	if running.Node != "gb" {
		t.Fatalf("session placed on %s, want gb (ga runs the hog): trace %s", running.Node, ex.Explain)
	}
	usedA, ok := comp["ga"][drm.ScoreGridCPU]
	if !ok || usedA <= comp["gb"][drm.ScoreGridCPU] {
		t.Fatalf("trace: ga %v, gb %v; want ga's %s above gb's", comp["ga"], comp["gb"], drm.ScoreGridCPU)
	}
	nodes, err := c.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cores := 0
	for _, n := range nodes {
		if n.Name == "ga" {
			cores = n.CPU.Cores
		}
	}
	if !seen.saw("ga", roundTo2(usedA*100*float64(cores))) {
		t.Fatalf("ga's %s %.4f × %d cores is no grid CPU value the grid aggregate carried for ga", drm.ScoreGridCPU, usedA, cores)
	}
}

func roundTo2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

func startAggregators(t *testing.T, url, cluster string) {
	t.Helper()
	for _, lvl := range []gmma.AggregatorConfig{{Level: gmma.LevelGrid}, {Level: gmma.LevelCluster, Cluster: cluster}} {
		nc, err := bus.Connect(url, "agg-"+lvl.Level)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		lvl.Conn, lvl.Period = nc, 200*time.Millisecond
		agg, err := gmma.NewAggregator(lvl)
		if err != nil {
			t.Fatal(err)
		}
		if err := agg.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = agg.Shutdown(context.Background()) })
	}
}

// runHog starts a busy loop as a throwaway account in a session cgroup that
// a's monitoring agent watches.
func runHog(t *testing.T, a *node.Agent) {
	t.Helper()
	acct := gmmatest.NewAccount(t)
	id := "s-hog-" + gmmatest.Tag(4)
	g, err := cgroup.New(id, cgroup.Limits{}, cgroup.Options{Parent: "igrid-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := g.Delete(); err != nil {
			t.Errorf("delete hog cgroup: %v", err)
		}
	})
	hog := exec.Command("sh", "-c", "while :; do :; done")
	hog.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(acct.UID), Gid: uint32(acct.GID)}}
	if err := cgroup.StartIn(hog, g); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hog.Process.Kill(); _ = hog.Wait() })
	if err := a.Monitor().Watch(id, sensor.Target{Group: g}, gmma.SLA{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Monitor().Unwatch(id) })
}

// TestGridAwareScore: the grid load counts only when it came from the grid
// aggregate; least-loaded takes the busier of booked and used, spread scales
// by the unused share, best-fit is unchanged.
func TestGridAwareScore(t *testing.T) {
	st := func(from string, gridCPU float64) *proto.NodeStatus {
		s := &proto.NodeStatus{}
		s.CPU.Cores, s.MemoryMB = 4, 8192
		s.Load = proto.Load{GridCPUPercent: gridCPU, From: from}
		return s
	}
	booked := store.Capacity{Cores: 1, MemoryMB: 2048} // a quarter booked
	cases := []struct {
		name   string
		policy drm.Policy
		status *proto.NodeStatus
		booked int // sessions booked (spread)
		want   float64
	}{
		{"least-loaded, heartbeat load ignored", drm.LeastLoaded{}, st("", 300), 0, 0.75},
		{"least-loaded, used above booked", drm.LeastLoaded{}, st(drm.LoadFromGrid, 200), 0, 0.5},
		{"least-loaded, used below booked", drm.LeastLoaded{}, st(drm.LoadFromGrid, 40), 0, 0.75},
		{"spread scales by unused", drm.Spread{}, st(drm.LoadFromGrid, 100), 1, 0.5 * 0.75},
		{"best-fit unchanged", drm.BestFit{}, st(drm.LoadFromGrid, 400), 0, 0.25},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := drm.NodeView{NodeStatus: c.status, Reserved: booked}
			n.Reserved.Sessions = c.booked
			got := drm.GridAware{Policy: c.policy}.Score(&n, store.Capacity{})
			if math.Abs(got-c.want) > 1e-9 {
				t.Fatalf("score %.4f, want %.4f", got, c.want)
			}
		})
	}
}
