package gmma

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// AggregatorConfig configures a cluster or grid aggregator
// (`igrid aggregator --level cluster|grid`).
type AggregatorConfig struct {
	Level   string // LevelCluster or LevelGrid
	Cluster string // the cluster a cluster-level aggregator serves
	Conn    *nats.Conn
	// Period between publications (default 10s); 0 with Manual: only Flush publishes.
	Period time.Duration
	Manual bool
	// DeadbandCPU: a node's load is re-sent when its CPU or its sessions'
	// CPU moved at least this many points, its sessions changed or its
	// memory moved 10% (default 5).
	DeadbandCPU float64
	// FullEvery sends every node's load every this many periods (default 6).
	FullEvery int
	Archive   *Archive
	Now       func() time.Time
	Logger    *slog.Logger
}

// Aggregator is an upper level of the hierarchy: it subscribes to the level
// below and publishes its own aggregate above, with its own aggregation
// function (cluster: nodes → one cluster aggregate with the node loads that
// moved; grid: clusters → one grid aggregate the DRM reads).
type Aggregator struct {
	cfg AggregatorConfig
	sub *nats.Subscription

	mu       sync.Mutex
	nodes    map[string]*nodeEntry
	clusters map[string]ClusterSummary
	apps     map[string]map[string]AppSummary // source → app → summary
	sentN    int
	gone     []string

	InMsgs, InBytes, OutMsgs, OutBytes atomic.Int64

	stop chan struct{}
	done chan struct{}
}

type nodeEntry struct {
	load  NodeLoad
	sent  *NodeLoad
	heard time.Time
	dirty bool
}

// NewAggregator checks cfg.
func NewAggregator(cfg AggregatorConfig) (*Aggregator, error) {
	switch {
	case cfg.Level != LevelCluster && cfg.Level != LevelGrid:
		return nil, fmt.Errorf("%w: %q", ErrBadLevel, cfg.Level)
	case cfg.Level == LevelCluster && cfg.Cluster == "":
		return nil, fmt.Errorf("%w: cluster aggregator needs Cluster", ErrNoConfig)
	case cfg.Conn == nil:
		return nil, fmt.Errorf("%w: aggregator Conn", ErrNoConfig)
	}
	if cfg.Period <= 0 {
		cfg.Period = 10 * time.Second
	}
	if cfg.DeadbandCPU <= 0 {
		cfg.DeadbandCPU = 5
	}
	if cfg.FullEvery <= 0 {
		cfg.FullEvery = 6
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Aggregator{cfg: cfg, nodes: map[string]*nodeEntry{}, clusters: map[string]ClusterSummary{},
		apps: map[string]map[string]AppSummary{}}, nil
}

// Start subscribes to the level below and, unless Manual, publishes every Period.
func (a *Aggregator) Start() error {
	subj := ClusterWildcard
	if a.cfg.Level == LevelCluster {
		subj = NodeAggWildcard(a.cfg.Cluster)
	}
	sub, err := a.cfg.Conn.Subscribe(subj, a.receive)
	if err != nil {
		return fmt.Errorf("gmma %s aggregator: subscribe %s: %w", a.cfg.Level, subj, err)
	}
	_ = sub.SetPendingLimits(-1, -1)
	a.sub = sub
	a.stop, a.done = make(chan struct{}), make(chan struct{})
	go a.loop()
	return a.cfg.Conn.Flush()
}

// Ready waits until the subscription is registered with the server.
func (a *Aggregator) Ready(ctx context.Context) error {
	if a.sub == nil {
		return fmt.Errorf("gmma aggregator: not started")
	}
	return a.cfg.Conn.FlushWithContext(ctx)
}

// Shutdown stops publishing and unsubscribes.
func (a *Aggregator) Shutdown(ctx context.Context) error {
	if a.sub == nil {
		return nil
	}
	close(a.stop)
	select {
	case <-a.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return a.sub.Unsubscribe()
}

// Subject is where this aggregator publishes.
func (a *Aggregator) Subject() string {
	if a.cfg.Level == LevelCluster {
		return ClusterAggSubject(a.cfg.Cluster)
	}
	return GridSubject
}

func (a *Aggregator) loop() {
	defer close(a.done)
	if a.cfg.Manual {
		<-a.stop
		return
	}
	t := time.NewTicker(a.cfg.Period)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
			if err := a.Flush(); err != nil {
				a.cfg.Logger.Warn("gmma aggregator publish", "level", a.cfg.Level, "err", err)
			}
		}
	}
}

func (a *Aggregator) receive(m *nats.Msg) {
	a.InMsgs.Add(1)
	a.InBytes.Add(int64(len(m.Data)))
	var err error
	if a.cfg.Level == LevelCluster {
		var na NodeAggregate
		if err = json.Unmarshal(m.Data, &na); err == nil {
			a.takeNode(na)
		}
	} else {
		var ca ClusterAggregate
		if err = json.Unmarshal(m.Data, &ca); err == nil && ca.Level == LevelCluster {
			a.takeCluster(ca)
		}
	}
	if err != nil {
		a.cfg.Logger.Warn("gmma aggregator: bad message", "subject", m.Subject, "err", err)
	}
}

// takeNode is the cluster level's input: a node's aggregate.
func (a *Aggregator) takeNode(na NodeAggregate) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.nodes[na.Node]
	if e == nil {
		e = &nodeEntry{}
		a.nodes[na.Node] = e
	}
	e.load, e.heard = compact(na.Load), a.cfg.Now()
	e.load.Node, e.load.Cluster = na.Node, na.Cluster
	apps := map[string]AppSummary{}
	for _, ap := range na.Apps {
		s := apps[ap.App]
		s.App = ap.App
		s.CPUPercent.Merge(ap.CPUPercent)
		s.CPUP95 = math.Max(s.CPUP95, ap.CPUP95)
		s.BwP95 = math.Max(s.BwP95, ap.BandwidthP95)
		apps[ap.App] = s
	}
	a.apps[na.Node] = apps
}

// takeCluster is the grid level's input: a cluster's aggregate.
func (a *Aggregator) takeCluster(ca ClusterAggregate) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.clusters[ca.Cluster] = ClusterSummary{Cluster: ca.Cluster, Nodes: ca.Nodes, Sessions: ca.Sessions, NodeCPU: ca.NodeCPU, MemMB: ca.MemMB}
	now := a.cfg.Now()
	for _, l := range ca.Loads {
		e := a.nodes[l.Node]
		if e == nil {
			e = &nodeEntry{}
			a.nodes[l.Node] = e
		}
		e.load, e.heard, e.dirty = l, now, true
	}
	for _, g := range ca.Gone {
		delete(a.nodes, g)
		a.gone = append(a.gone, g)
	}
	apps := map[string]AppSummary{}
	for _, s := range ca.Apps {
		apps[s.App] = s
	}
	a.apps[ca.Cluster] = apps
}

// Flush publishes this level's aggregate now.
func (a *Aggregator) Flush() error {
	var v any
	var t time.Time
	if a.cfg.Level == LevelCluster {
		ca := a.clusterAggregate()
		v, t = ca, ca.Time
	} else {
		ga := a.gridAggregate()
		v, t = ga, ga.Time
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if a.cfg.Archive != nil {
		_ = a.cfg.Archive.AddAggregate(a.cfg.Level, a.cfg.Cluster, t, v)
	}
	a.OutMsgs.Add(1)
	a.OutBytes.Add(int64(len(b)))
	return a.cfg.Conn.Publish(a.Subject(), b)
}

func (a *Aggregator) mergedApps() []AppSummary {
	all := map[string]AppSummary{}
	for _, apps := range a.apps {
		for name, s := range apps {
			m := all[name]
			m.App = name
			m.CPUPercent.Merge(s.CPUPercent)
			m.CPUP95 = math.Max(m.CPUP95, s.CPUP95)
			m.BwP95 = math.Max(m.BwP95, s.BwP95)
			all[name] = m
		}
	}
	out := make([]AppSummary, 0, len(all))
	for _, s := range all {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].App < out[j].App })
	return out
}

// moved reports whether a node's load must be re-sent.
func (a *Aggregator) moved(e *nodeEntry) bool {
	if e.sent == nil {
		return true
	}
	s, l := e.sent, e.load
	return math.Abs(l.CPU-s.CPU) >= a.cfg.DeadbandCPU || math.Abs(l.GridCPU-s.GridCPU) >= a.cfg.DeadbandCPU ||
		l.Sessions != s.Sessions ||
		math.Abs(float64(l.MemMB-s.MemMB)) > 0.1*float64(max(s.MemMB, 1))
}

func (a *Aggregator) clusterAggregate() ClusterAggregate {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.cfg.Now()
	full := a.sentN%a.cfg.FullEvery == 0
	a.sentN++
	ca := ClusterAggregate{Level: LevelCluster, Cluster: a.cfg.Cluster, Time: now, Period: a.cfg.Period, Full: full}
	names := make([]string, 0, len(a.nodes))
	for n := range a.nodes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		e := a.nodes[n]
		if now.Sub(e.heard) > 3*a.cfg.Period && !a.cfg.Manual {
			ca.Gone = append(ca.Gone, n)
			delete(a.nodes, n)
			delete(a.apps, n)
			continue
		}
		ca.Nodes++
		ca.Sessions += e.load.Sessions
		ca.NodeCPU.Add(e.load.CPU)
		ca.MemMB += e.load.MemMB
		if full || a.moved(e) {
			l := e.load
			e.sent = &l
			ca.Loads = append(ca.Loads, l)
		}
	}
	ca.Apps = a.mergedApps()
	return ca
}

func (a *Aggregator) gridAggregate() GridAggregate {
	a.mu.Lock()
	defer a.mu.Unlock()
	full := a.sentN%a.cfg.FullEvery == 0
	a.sentN++
	ga := GridAggregate{Level: LevelGrid, Time: a.cfg.Now(), Full: full, Nodes: len(a.nodes), Gone: a.gone}
	a.gone = nil
	for _, c := range a.clusters {
		ga.Clusters = append(ga.Clusters, c)
	}
	sort.Slice(ga.Clusters, func(i, j int) bool { return ga.Clusters[i].Cluster < ga.Clusters[j].Cluster })
	names := make([]string, 0, len(a.nodes))
	for n := range a.nodes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if e := a.nodes[n]; full || e.dirty {
			e.dirty = false
			ga.Loads = append(ga.Loads, e.load)
		}
	}
	ga.Apps = a.mergedApps()
	return ga
}
