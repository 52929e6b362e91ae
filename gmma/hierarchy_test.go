package gmma_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/igrid/igrid/gmma"
	"github.com/igrid/igrid/gmma/gmmatest"
	"github.com/igrid/igrid/gmma/sensor"
	"github.com/igrid/igrid/internal/bus"
)

// nodeStack is one node's GMMA chain: monitor → node aggregator → NATS.
type nodeStack struct {
	mon *gmma.Monitor
	agg *gmma.NodeAggregator
	arc *gmma.Archive
}

func startNode(t *testing.T, url, cluster, node string, pid int) *nodeStack {
	t.Helper()
	nc, err := bus.Connect(url, node)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	arc, err := gmma.OpenArchive(filepath.Join(t.TempDir(), node+".db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { arc.Close() })
	agg, err := gmma.NewNodeAggregator(gmma.NodeAggregatorConfig{Node: node, Cluster: cluster, Conn: nc, Archive: arc})
	if err != nil {
		t.Fatal(err)
	}
	mon, err := gmma.NewMonitor(gmma.MonitorConfig{Node: node, Cluster: cluster, Interval: 100 * time.Millisecond, Conn: nc})
	if err != nil {
		t.Fatal(err)
	}
	mon.Subscribe(agg.Observe)
	if err := mon.Watch("s-"+node, sensor.Target{PIDs: []int{pid}}, gmma.SLA{CPUPercent: 100, Start: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := mon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mon.Shutdown(context.Background()) })
	return &nodeStack{mon: mon, agg: agg, arc: arc}
}

func startAgg(t *testing.T, url string, cfg gmma.AggregatorConfig) *gmma.Aggregator {
	t.Helper()
	nc, err := bus.Connect(url, cfg.Level)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	cfg.Conn, cfg.Period = nc, 150*time.Millisecond
	a, err := gmma.NewAggregator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Shutdown(context.Background()) })
	return a
}

// TestThreeLevelHierarchy: two node-level agents → one cluster aggregator
// → one grid aggregator over a real NATS server; the DRM's view of node
// load (GridView) comes from the top only.
func TestThreeLevelHierarchy(t *testing.T) {
	ns, err := bus.StartEmbedded(bus.EmbeddedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	sleeper := exec.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() }()

	grid := startAgg(t, ns.URL(), gmma.AggregatorConfig{Level: gmma.LevelGrid})
	cluster := startAgg(t, ns.URL(), gmma.AggregatorConfig{Level: gmma.LevelCluster, Cluster: "c1"})
	drm, err := bus.Connect(ns.URL(), "drm")
	if err != nil {
		t.Fatal(err)
	}
	defer drm.Close()
	view, err := gmma.WatchGrid(drm)
	if err != nil {
		t.Fatal(err)
	}
	a := startNode(t, ns.URL(), "c1", "node-a", sleeper.Process.Pid)
	startNode(t, ns.URL(), "c1", "node-b", sleeper.Process.Pid)

	gmmatest.CheckFor(t, 15*time.Second, "both nodes' load at the top", func() bool {
		return len(view.Nodes()) == 2
	})
	for _, n := range []string{"node-a", "node-b"} {
		l, at, ok := view.Load(n)
		if !ok || l.Sessions != 1 || l.MemUsedMB == 0 || at.IsZero() {
			t.Fatalf("DRM view of %s = %+v at %v (ok %v)", n, l, at, ok)
		}
	}
	gmmatest.CheckFor(t, 10*time.Second, "the sleep application summarised at the top", func() bool {
		for _, ap := range view.Apps() {
			if ap.App == "sleep" && ap.CPUPercent.N > 0 {
				return true
			}
		}
		return false
	})
	last, _ := view.Last()
	if len(last.Clusters) != 1 || last.Clusters[0].Nodes != 2 || last.Clusters[0].Sessions != 2 {
		t.Fatalf("grid aggregate clusters = %+v", last.Clusters)
	}
	if cluster.InMsgs.Load() == 0 || grid.InMsgs.Load() == 0 || grid.InMsgs.Load() > cluster.InMsgs.Load() {
		t.Fatalf("messages: cluster in %d, grid in %d", cluster.InMsgs.Load(), grid.InMsgs.Load())
	}
	cpu, err := a.arc.SessionCPU("s-node-a")
	if err != nil || len(cpu) == 0 {
		t.Fatalf("archive of node-a: %d samples, %v", len(cpu), err)
	}
	snap := a.agg.Snapshot()
	if len(snap.Sessions) != 1 || snap.Sessions[0].Processes.Max != 1 || snap.Sessions[0].CPUPercent.N < 1 {
		t.Fatalf("node-a session aggregate = %+v", snap.Sessions)
	}
}
