package gmma

import (
	"time"

	"github.com/igrid/igrid/internal/proto"
)

// SLA is what GMMA polices for one session: proto.SLA plus the session's
// start, converted once by FromProto.
type SLA struct {
	UsageTime     time.Duration `json:"usage_time"`
	MaxProcesses  int           `json:"max_processes"`
	DiskMB        int           `json:"disk_mb"`
	MemoryMB      int           `json:"memory_mb"`
	CPUPercent    int           `json:"cpu_percent"` // percent of one core
	BandwidthKbps int           `json:"bandwidth_kbps"`
	Start         time.Time     `json:"start"`
}

// FromProto converts the wire SLA of a StartSession.
func FromProto(s proto.SLA, start time.Time) SLA {
	return SLA{UsageTime: s.UsageTime.D(), MaxProcesses: s.MaxProcesses, DiskMB: s.DiskMB,
		MemoryMB: s.MemoryMB, CPUPercent: s.CPUPercent, BandwidthKbps: s.BandwidthKbps, Start: start}
}

// End is when the session's usage time runs out (zero when unlimited).
func (s SLA) End() time.Time {
	if s.UsageTime <= 0 {
		return time.Time{}
	}
	return s.Start.Add(s.UsageTime)
}

// ProcUsage is one process's rates over the last interval.
type ProcUsage struct {
	PID        int     `json:"pid"`
	App        string  `json:"app"`
	Nice       int     `json:"nice"`
	CPUPercent float64 `json:"cpu_percent"`
	RSSBytes   uint64  `json:"rss_bytes"`
	Threads    int     `json:"threads"`
}

// AppUsage sums the processes of one application (same command name).
type AppUsage struct {
	App        string  `json:"app"`
	Procs      int     `json:"procs"`
	CPUPercent float64 `json:"cpu_percent"`
	RSSBytes   uint64  `json:"rss_bytes"`
	ReadBps    float64 `json:"read_bps"`
	WriteBps   float64 `json:"write_bps"`
	Sockets    int     `json:"sockets"`
}

// SessionUsage is one session's usage at one sample.
type SessionUsage struct {
	Session       string        `json:"session"`
	Time          time.Time     `json:"time"`
	Elapsed       time.Duration `json:"elapsed"`
	Processes     int           `json:"processes"`
	Threads       int           `json:"threads"`
	CPUPercent    float64       `json:"cpu_percent"`
	MemBytes      uint64        `json:"mem_bytes"`
	DiskBytes     uint64        `json:"disk_bytes"`
	BandwidthKbps float64       `json:"bandwidth_kbps"` // rx + tx
	NetRxBytes    uint64        `json:"net_rx_bytes"`
	NetTxBytes    uint64        `json:"net_tx_bytes"`
	NetMethod     string        `json:"net_method,omitempty"` // sensor.NetCgroupSKB or the fallback sensor.NetSockDiag
	NetNote       string        `json:"net_note,omitempty"`   // why the fallback
	OOMKills      uint64        `json:"oom_kills"`
	PidsLimitHits uint64        `json:"pids_limit_hits"`
	Apps          []AppUsage    `json:"apps"`
	Procs         []ProcUsage   `json:"procs,omitempty"`
	SLA           SLA           `json:"sla"`
}

// NodeUsage is the node's load at one sample.
type NodeUsage struct {
	Node          string    `json:"node"`
	Cluster       string    `json:"cluster"`
	Time          time.Time `json:"time"`
	Cores         int       `json:"cores"`
	CPUPercent    float64   `json:"cpu_percent"` // of the whole node (100 = every core busy)
	Load1         float64   `json:"load1"`
	MemUsedBytes  uint64    `json:"mem_used_bytes"`
	MemTotalBytes uint64    `json:"mem_total_bytes"`
	DiskFreeBytes uint64    `json:"disk_free_bytes"`
	NetKbps       float64   `json:"net_kbps"`
	Sessions      int       `json:"sessions"`
	// SessionsCPUPercent sums the sessions' CPU (percent of one core).
	SessionsCPUPercent float64 `json:"sessions_cpu_percent"`
}

// Load converts to the DRM's node load.
func (n NodeUsage) Load() proto.Load {
	return proto.Load{CPUPercent: n.CPUPercent, Load1: n.Load1, MemUsedMB: int(n.MemUsedBytes >> 20),
		DiskFreeMB: int(n.DiskFreeBytes >> 20), Sessions: n.Sessions, GridCPUPercent: n.SessionsCPUPercent}
}

// Sample is what a monitoring agent produces every interval.
type Sample struct {
	Seq      uint64         `json:"seq"`
	Node     NodeUsage      `json:"node"`
	Sessions []SessionUsage `json:"sessions"`
	// Took is how long the sensors took (the agent's own cost).
	Took time.Duration `json:"took"`
	// Late is how long after it was due the sample began (the wake-up of
	// the sampling thread; 0 for SampleNow).
	Late time.Duration `json:"late,omitempty"`
}
