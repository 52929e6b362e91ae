package proto

import "time"

// NodeInfo is a node's static description, read by its agent at start.
type NodeInfo struct {
	Name         string   `json:"name"`
	Cluster      string   `json:"cluster,omitempty"`
	OS           OS       `json:"os"`
	CPU          CPU      `json:"cpu"`
	MemoryMB     int      `json:"memory_mb"`
	SwapMB       int      `json:"swap_mb"`
	DiskMB       int      `json:"disk_mb"`
	Applications []string `json:"applications"`
	TrustLevel   string   `json:"trust_level"`
	// BandwidthKbps is the network bandwidth sessions may reserve; 0 means
	// not limited.
	BandwidthKbps int `json:"bandwidth_kbps,omitempty"`
	// MaxSessions is the number of session slots; 0 means not limited.
	MaxSessions int `json:"max_sessions,omitempty"`
}

// Load is a node's dynamic status.
type Load struct {
	CPUPercent float64 `json:"cpu_percent"`
	Load1      float64 `json:"load1"`
	MemUsedMB  int     `json:"mem_used_mb"`
	DiskFreeMB int     `json:"disk_free_mb"`
	Sessions   int     `json:"sessions"`
	// GridCPUPercent is the CPU the node's grid sessions use, in percent of
	// one core summed over them, as GMMA measured it (0 from a heartbeat,
	// which does not measure sessions).
	GridCPUPercent float64 `json:"grid_cpu_percent,omitempty"`
	// From names the source when it is not the heartbeat ("gmma_grid": the
	// DRM took it from the GMMA grid aggregate).
	From string `json:"from,omitempty"`
}

// Heartbeat is published by a node agent on igrid.node.<node>.hb every
// interval. Sessions lists the ids the node currently runs.
type Heartbeat struct {
	Node     NodeInfo   `json:"node"`
	Seq      uint64     `json:"seq"`
	Time     time.Time  `json:"time"`
	Interval Duration   `json:"interval"`
	Load     Load       `json:"load"`
	SSH      SSHConnect `json:"ssh"`
	Sessions []string   `json:"sessions"`
	// ReservedAccounts are the grid users whose dynamic account the node
	// keeps reserved between sessions (data affinity).
	ReservedAccounts []string `json:"reserved_accounts,omitempty"`
	// CachedUsers are the grid users whose GSS data the node holds a fresh
	// cached copy of (data affinity).
	CachedUsers []string `json:"cached_users,omitempty"`
}

// NodeStatus is the API's view of a node (GET /api/v1/nodes).
type NodeStatus struct {
	NodeInfo
	Online           bool       `json:"online"`
	LastSeen         time.Time  `json:"last_seen"`
	Load             Load       `json:"load"`
	SSH              SSHConnect `json:"ssh"`
	Sessions         []string   `json:"sessions"`
	ReservedAccounts []string   `json:"reserved_accounts,omitempty"`
	CachedUsers      []string   `json:"cached_users,omitempty"`
}
