package gmma_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/igrid/igrid/gmma"
	"github.com/igrid/igrid/internal/bus"
)

// simNodeAgg is what one simulated node publishes each second: one session
// with three applications, as a real NodeAggregator produces it.
func simNodeAgg(cluster, node string, r *rand.Rand, now time.Time) gmma.NodeAggregate {
	st := func(v float64) gmma.Stat { s := gmma.Stat{}; s.Add(v); s.Add(v * 1.1); return s }
	cpu := r.Float64() * 100
	sla := gmma.SLA{UsageTime: time.Hour, MaxProcesses: 50, DiskMB: 1024, MemoryMB: 512, CPUPercent: 100, BandwidthKbps: 1000, Start: now.Add(-time.Minute)}
	agg := gmma.NodeAggregate{Level: gmma.LevelNode, Node: node, Cluster: cluster, Time: now, Window: time.Second, Samples: 1,
		Load: gmma.NodeUsage{Node: node, Cluster: cluster, Time: now, Cores: 8, CPUPercent: cpu, Load1: cpu / 25,
			MemUsedBytes: uint64(r.Intn(8000)) << 20, MemTotalBytes: 16 << 30, DiskFreeBytes: 100 << 30, Sessions: 1},
		LoadCPU: st(cpu),
		Sessions: []gmma.SessionAgg{{Session: "s-" + node, From: now.Add(-time.Minute), To: now, CPUPercent: st(cpu),
			Processes: st(4), MemBytes: st(200 << 20), DiskBytes: st(10 << 20), BandwidthKbps: st(50), CPUSeconds: 30, SLA: sla}},
	}
	for _, app := range []string{"python3", "vim", "make"} {
		agg.Apps = append(agg.Apps, gmma.AppAgg{Session: "s-" + node, App: app, CPUPercent: st(cpu / 3), RSSBytes: st(50 << 20), Procs: st(1), CPUP95: cpu / 3})
	}
	return agg
}

type counter struct{ msgs, bytes atomic.Int64 }

func (c *counter) sub(b *testing.B, nc *nats.Conn, subj string) {
	s, err := nc.Subscribe(subj, func(m *nats.Msg) { c.msgs.Add(1); c.bytes.Add(int64(len(m.Data))) })
	if err != nil {
		b.Fatal(err)
	}
	_ = s.SetPendingLimits(-1, -1)
}

// BenchmarkIngest10kNodes: 10,000 simulated nodes publish a node aggregate
// every second for one cluster period (10 s) behind two cluster aggregators
// and one grid aggregator. It counts what a DRM subscribed directly to every
// node would receive against what it receives from the top of the hierarchy.
func BenchmarkIngest10kNodes(b *testing.B) {
	const nodes, rounds = 10000, 10
	ns, err := bus.StartEmbedded(bus.EmbeddedConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer ns.Shutdown()
	conn := func(name string) *nats.Conn {
		nc, err := bus.Connect(ns.URL(), name)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(nc.Close)
		return nc
	}
	var aggs []*gmma.Aggregator
	for _, lvl := range []gmma.AggregatorConfig{{Level: gmma.LevelCluster, Cluster: "c0"}, {Level: gmma.LevelCluster, Cluster: "c1"}, {Level: gmma.LevelGrid}} {
		lvl.Conn, lvl.Manual, lvl.Period = conn(lvl.Level+lvl.Cluster), true, 10*time.Second
		a, err := gmma.NewAggregator(lvl)
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Start(); err != nil {
			b.Fatal(err)
		}
		defer a.Shutdown(context.Background()) //nolint:errcheck
		aggs = append(aggs, a)
	}
	var direct, top counter
	drm := conn("drm")
	direct.sub(b, drm, "igrid.gmma.agg.*.*")
	top.sub(b, drm, gmma.GridSubject)
	_ = drm.Flush()
	pub := conn("nodes")
	r := rand.New(rand.NewSource(1))
	wait := func(what string, f func() bool) {
		for deadline := time.Now().Add(2 * time.Minute); !f(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for round := 0; round < rounds; round++ {
			now := time.Now()
			for n := 0; n < nodes; n++ {
				c := fmt.Sprintf("c%d", n%2)
				node := fmt.Sprintf("node-%05d", n)
				data, _ := json.Marshal(simNodeAgg(c, node, r, now))
				if err := pub.Publish(gmma.NodeAggSubject(c, node), data); err != nil {
					b.Fatal(err)
				}
			}
		}
		_ = pub.Flush()
		want := int64((i + 1) * nodes * rounds)
		wait("cluster aggregators", func() bool { return aggs[0].InMsgs.Load()+aggs[1].InMsgs.Load() == want })
		for _, a := range aggs[:2] {
			if err := a.Flush(); err != nil {
				b.Fatal(err)
			}
		}
		wait("grid aggregator", func() bool { return aggs[2].InMsgs.Load() == int64(2*(i+1)) })
		if err := aggs[2].Flush(); err != nil {
			b.Fatal(err)
		}
		wait("DRM", func() bool { return top.msgs.Load() == int64(i+1) && direct.msgs.Load() == want })
	}
	b.StopTimer()
	b.ReportMetric(float64(direct.msgs.Load())/float64(b.N), "direct-msgs/period")
	b.ReportMetric(float64(direct.bytes.Load())/float64(b.N), "direct-B/period")
	b.ReportMetric(float64(top.msgs.Load())/float64(b.N), "top-msgs/period")
	b.ReportMetric(float64(top.bytes.Load())/float64(b.N), "top-B/period")
	b.ReportMetric(float64(direct.msgs.Load())/float64(top.msgs.Load()), "msg-cut-x")
	b.ReportMetric(float64(direct.bytes.Load())/float64(top.bytes.Load()), "byte-cut-x")
}
