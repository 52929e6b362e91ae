package gmma

import (
	"time"

	"github.com/igrid/igrid/internal/proto"
)

// Aggregation levels.
const (
	LevelNode    = "node"
	LevelCluster = "cluster"
	LevelGrid    = "grid"
)

// SessionAgg aggregates one session since it started: conformance to the SLA.
type SessionAgg struct {
	Session       string    `json:"session"`
	From          time.Time `json:"from"`
	To            time.Time `json:"to"`
	CPUPercent    Stat      `json:"cpu_percent"`
	Processes     Stat      `json:"processes"`
	MemBytes      Stat      `json:"mem_bytes"`
	DiskBytes     Stat      `json:"disk_bytes"`
	BandwidthKbps Stat      `json:"bandwidth_kbps"`
	CPUSeconds    float64   `json:"cpu_seconds"` // total CPU time used
	NetBytes      uint64    `json:"net_bytes"`   // total bytes in and out
	// OverCPU counts samples above the SLA's CPU limit.
	OverCPU int `json:"over_cpu"`
	SLA     SLA `json:"sla"`
}

// AppAgg aggregates one application of one session over time.
type AppAgg struct {
	Session    string `json:"session"`
	App        string `json:"app"`
	CPUPercent Stat   `json:"cpu_percent"`
	RSSBytes   Stat   `json:"rss_bytes"`
	Procs      Stat   `json:"procs"`
	// CPUP95 is the 95th percentile of the app's CPU over the window.
	CPUP95 float64 `json:"cpu_p95"`
	// BandwidthKbps is the session's bandwidth attributed to the app by its
	// share of the session's sockets.
	BandwidthP95 float64 `json:"bandwidth_p95"`
}

// NodeAggregate is what a node aggregator publishes on
// igrid.gmma.agg.<cluster>.<node>.
type NodeAggregate struct {
	Level    string        `json:"level"`
	Node     string        `json:"node"`
	Cluster  string        `json:"cluster"`
	Time     time.Time     `json:"time"`
	Window   time.Duration `json:"window"`
	Samples  int           `json:"samples"`
	Load     NodeUsage     `json:"load"`     // the node at the last instant
	LoadCPU  Stat          `json:"load_cpu"` // node CPU % over the window
	Sessions []SessionAgg  `json:"sessions"`
	Apps     []AppAgg      `json:"apps"`
}

// NodeLoad is one node's load in the compact form the upper levels carry.
type NodeLoad struct {
	Node     string    `json:"n"`
	Cluster  string    `json:"c"`
	Time     time.Time `json:"t"`
	CPU      float64   `json:"cpu"`
	Load1    float64   `json:"l1"`
	MemMB    int       `json:"mem"`
	DiskMB   int       `json:"disk"`
	Sessions int       `json:"s"`
	// GridCPU is the CPU of the node's sessions (percent of one core).
	GridCPU float64 `json:"gcpu,omitempty"`
}

// Load converts to the DRM's node load.
func (n NodeLoad) Load() proto.Load {
	return proto.Load{CPUPercent: n.CPU, Load1: n.Load1, MemUsedMB: n.MemMB, DiskFreeMB: n.DiskMB, Sessions: n.Sessions,
		GridCPUPercent: n.GridCPU}
}

// AppSummary merges one application over many sessions and nodes.
type AppSummary struct {
	App        string  `json:"app"`
	CPUPercent Stat    `json:"cpu_percent"`
	CPUP95     float64 `json:"cpu_p95"` // peak of the reporters' p95s
	BwP95      float64 `json:"bw_p95"`
}

// ClusterAggregate is what a cluster aggregator publishes on
// igrid.gmma.agg.<cluster>. Loads holds only the nodes whose load moved
// past the dead band since the last report (all of them when Full).
type ClusterAggregate struct {
	Level    string        `json:"level"`
	Cluster  string        `json:"cluster"`
	Time     time.Time     `json:"time"`
	Period   time.Duration `json:"period"`
	Nodes    int           `json:"nodes"`
	Sessions int           `json:"sessions"`
	NodeCPU  Stat          `json:"node_cpu"` // across nodes
	MemMB    int           `json:"mem_mb"`   // total used
	Full     bool          `json:"full"`
	Loads    []NodeLoad    `json:"loads"`
	Gone     []string      `json:"gone,omitempty"` // nodes silent for 3 periods
	Apps     []AppSummary  `json:"apps"`
}

// ClusterSummary is a cluster's line in the grid aggregate.
type ClusterSummary struct {
	Cluster  string `json:"cluster"`
	Nodes    int    `json:"nodes"`
	Sessions int    `json:"sessions"`
	NodeCPU  Stat   `json:"node_cpu"`
	MemMB    int    `json:"mem_mb"`
}

// GridAggregate is what the grid aggregator publishes on igrid.gmma.grid:
// per-cluster summaries, the node loads that changed, and the applications.
type GridAggregate struct {
	Level    string           `json:"level"`
	Time     time.Time        `json:"time"`
	Clusters []ClusterSummary `json:"clusters"`
	Nodes    int              `json:"nodes"`
	Full     bool             `json:"full"`
	Loads    []NodeLoad       `json:"loads"`
	Gone     []string         `json:"gone,omitempty"`
	Apps     []AppSummary     `json:"apps"`
}

func compact(u NodeUsage) NodeLoad {
	return NodeLoad{Node: u.Node, Cluster: u.Cluster, Time: u.Time, CPU: round2(u.CPUPercent), Load1: u.Load1,
		MemMB: int(u.MemUsedBytes >> 20), DiskMB: int(u.DiskFreeBytes >> 20), Sessions: u.Sessions,
		GridCPU: round2(u.SessionsCPUPercent)}
}
