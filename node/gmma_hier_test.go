package node

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/igrid/igrid/gmma"
	"github.com/igrid/igrid/internal/bus"
)

// startAgentOn starts a node agent named name in cluster on an existing NATS server.
func startAgentOn(t *testing.T, url, name, cluster string) *Agent {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o711)
	}
	a, err := New(Config{
		Name: name, Cluster: cluster, NATSURL: url, SSHAddr: "127.0.0.1:0",
		HomeRoot: filepath.Join(dir, "homes"), DataDir: filepath.Join(dir, "data"),
		PoliciesDir: "testdata/policies", AccountTag: randomTag(t),
		Heartbeat: 100 * time.Millisecond, SampleInterval: 100 * time.Millisecond,
		MetricsAddr: "127.0.0.1:0", RemoveAccounts: true, Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Errorf("shutdown %s: %v", name, err)
		}
	})
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	return a
}

// TestGMMAHierarchyTwoNodeAgents: two real node agents publish their node
// aggregates; one cluster aggregator and one grid aggregator consolidate
// them; the DRM-side GridView sees both nodes' load and nothing else.
func TestGMMAHierarchyTwoNodeAgents(t *testing.T) {
	ns, err := bus.StartEmbedded(bus.EmbeddedConfig{Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	for _, lvl := range []gmma.AggregatorConfig{{Level: gmma.LevelGrid}, {Level: gmma.LevelCluster, Cluster: "c-test"}} {
		nc, err := bus.Connect(ns.URL(), "agg-"+lvl.Level)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		lvl.Conn, lvl.Period = nc, 150*time.Millisecond
		agg, err := gmma.NewAggregator(lvl)
		if err != nil {
			t.Fatal(err)
		}
		if err := agg.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = agg.Shutdown(context.Background()) })
	}
	drm, err := bus.Connect(ns.URL(), "drm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drm.Close)
	view, err := gmma.WatchGrid(drm)
	if err != nil {
		t.Fatal(err)
	}
	a := startAgentOn(t, ns.URL(), "tn-a", "c-test")
	b := startAgentOn(t, ns.URL(), "tn-b", "c-test")
	checkFor(t, 15*time.Second, func() error {
		if n := view.Nodes(); len(n) != 2 {
			return fmt.Errorf("grid view knows %v", n)
		}
		return nil
	})
	for _, ag := range []*Agent{a, b} {
		l, at, ok := view.Load(ag.cfg.Name)
		if !ok || l.MemUsedMB <= 0 || at.IsZero() {
			t.Fatalf("DRM view of %s: %+v at %v", ag.cfg.Name, l, at)
		}
		resp, err := http.Get("http://" + ag.MetricsAddr() + "/metrics")
		if err != nil {
			t.Fatalf("%s /metrics: %v", ag.cfg.Name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "igrid_gmma_samples_total") {
			t.Fatalf("%s /metrics lacks igrid_gmma_samples_total", ag.cfg.Name)
		}
	}
	last, _ := view.Last()
	if len(last.Clusters) != 1 || last.Clusters[0].Cluster != "c-test" || last.Clusters[0].Nodes != 2 {
		t.Fatalf("grid aggregate clusters = %+v", last.Clusters)
	}
}
