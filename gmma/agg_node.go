package gmma

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// NodeAggregatorConfig configures the node-level aggregator.
type NodeAggregatorConfig struct {
	Node, Cluster string
	// PublishEvery publishes an aggregate every this many samples (default 1).
	PublishEvery int
	// Window is how many samples the per-application percentiles keep (default 300).
	Window  int
	Conn    *nats.Conn // publishes to igrid.gmma.agg.<cluster>.<node> when set
	Archive *Archive   // optional SQLite archive
	Logger  *slog.Logger
}

// NodeAggregator consumes a node's samples and keeps the aggregates by time
// (the node's load now and over the window), by application and by session.
type NodeAggregator struct {
	cfg NodeAggregatorConfig

	mu       sync.Mutex
	sessions map[string]*SessionAgg
	apps     map[[2]string]*appState
	loadCPU  Stat
	last     NodeUsage
	samples  int
	winStart time.Time
}

type appState struct {
	agg AppAgg
	cpu *Window
	bw  *Window
}

// NewNodeAggregator returns the aggregator.
func NewNodeAggregator(cfg NodeAggregatorConfig) (*NodeAggregator, error) {
	if cfg.Node == "" {
		return nil, fmt.Errorf("%w: aggregator Node", ErrNoConfig)
	}
	if cfg.PublishEvery <= 0 {
		cfg.PublishEvery = 1
	}
	if cfg.Window <= 0 {
		cfg.Window = 300
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &NodeAggregator{cfg: cfg, sessions: map[string]*SessionAgg{}, apps: map[[2]string]*appState{}}, nil
}

// Observe is the Monitor consumer.
func (a *NodeAggregator) Observe(s Sample) {
	a.mu.Lock()
	a.fold(s)
	a.samples++
	publish := a.samples%a.cfg.PublishEvery == 0
	var agg NodeAggregate
	if publish {
		agg = a.snapshotLocked()
		a.loadCPU, a.winStart = Stat{}, time.Time{}
	}
	a.mu.Unlock()
	if a.cfg.Archive != nil {
		if err := a.cfg.Archive.AddSample(a.cfg.Node, s); err != nil {
			a.cfg.Logger.Warn("gmma archive", "node", a.cfg.Node, "err", err)
		}
	}
	if publish {
		a.publish(agg)
	}
}

func (a *NodeAggregator) fold(s Sample) {
	a.last = s.Node
	a.loadCPU.Add(s.Node.CPUPercent)
	if a.winStart.IsZero() {
		a.winStart = s.Node.Time
	}
	for _, u := range s.Sessions {
		sa := a.sessions[u.Session]
		if sa == nil {
			sa = &SessionAgg{Session: u.Session, From: u.Time}
			a.sessions[u.Session] = sa
		}
		if !sa.To.IsZero() {
			sa.CPUSeconds += u.CPUPercent / 100 * u.Time.Sub(sa.To).Seconds()
		}
		sa.To, sa.SLA = u.Time, u.SLA
		sa.CPUPercent.Add(u.CPUPercent)
		sa.Processes.Add(float64(u.Processes))
		sa.MemBytes.Add(float64(u.MemBytes))
		sa.DiskBytes.Add(float64(u.DiskBytes))
		sa.BandwidthKbps.Add(u.BandwidthKbps)
		sa.NetBytes = u.NetRxBytes + u.NetTxBytes
		if u.SLA.CPUPercent > 0 && u.CPUPercent > float64(u.SLA.CPUPercent) {
			sa.OverCPU++
		}
		socks := 0
		for _, ap := range u.Apps {
			socks += ap.Sockets
		}
		for _, ap := range u.Apps {
			k := [2]string{u.Session, ap.App}
			st := a.apps[k]
			if st == nil {
				st = &appState{agg: AppAgg{Session: u.Session, App: ap.App}, cpu: NewWindow(a.cfg.Window), bw: NewWindow(a.cfg.Window)}
				a.apps[k] = st
			}
			st.agg.CPUPercent.Add(ap.CPUPercent)
			st.agg.RSSBytes.Add(float64(ap.RSSBytes))
			st.agg.Procs.Add(float64(ap.Procs))
			st.cpu.Add(ap.CPUPercent)
			bw := 0.0
			if socks > 0 {
				bw = u.BandwidthKbps * float64(ap.Sockets) / float64(socks)
			}
			st.bw.Add(bw)
		}
	}
}

// Forget drops an ended session's aggregates (after a last publish).
func (a *NodeAggregator) Forget(session string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sessions, session)
	for k := range a.apps {
		if k[0] == session {
			delete(a.apps, k)
		}
	}
}

// Snapshot returns the current aggregate without publishing it.
func (a *NodeAggregator) Snapshot() NodeAggregate {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.snapshotLocked()
}

func (a *NodeAggregator) snapshotLocked() NodeAggregate {
	agg := NodeAggregate{Level: LevelNode, Node: a.cfg.Node, Cluster: a.cfg.Cluster, Time: a.last.Time,
		Samples: a.loadCPU.N, Load: a.last, LoadCPU: a.loadCPU}
	if !a.winStart.IsZero() {
		agg.Window = a.last.Time.Sub(a.winStart)
	}
	for _, s := range a.sessions {
		agg.Sessions = append(agg.Sessions, *s)
	}
	sort.Slice(agg.Sessions, func(i, j int) bool { return agg.Sessions[i].Session < agg.Sessions[j].Session })
	for _, st := range a.apps {
		ap := st.agg
		ap.CPUP95, ap.BandwidthP95 = round2(st.cpu.Percentile(95)), round2(st.bw.Percentile(95))
		agg.Apps = append(agg.Apps, ap)
	}
	sort.Slice(agg.Apps, func(i, j int) bool {
		if agg.Apps[i].Session != agg.Apps[j].Session {
			return agg.Apps[i].Session < agg.Apps[j].Session
		}
		return agg.Apps[i].App < agg.Apps[j].App
	})
	return agg
}

func (a *NodeAggregator) publish(agg NodeAggregate) {
	if a.cfg.Archive != nil {
		_ = a.cfg.Archive.AddAggregate(LevelNode, a.cfg.Node, agg.Time, agg)
	}
	if a.cfg.Conn == nil {
		return
	}
	b, err := json.Marshal(agg)
	if err != nil {
		return
	}
	if err := a.cfg.Conn.Publish(NodeAggSubject(a.cfg.Cluster, a.cfg.Node), b); err != nil {
		a.cfg.Logger.Warn("gmma publish aggregate", "node", a.cfg.Node, "err", err)
	}
}
