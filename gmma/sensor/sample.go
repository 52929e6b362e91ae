package sensor

import (
	"time"

	"github.com/igrid/igrid/gmma/cgroup"
)

// Proc is one process's counters at one instant.
type Proc struct {
	PID        int     `json:"pid"`
	PPID       int     `json:"ppid"`
	App        string  `json:"app"` // the command name (comm)
	StartTicks uint64  `json:"start_ticks"`
	Nice       int     `json:"nice"`
	CPUSeconds float64 `json:"cpu_seconds"` // user + system since start
	RSSBytes   uint64  `json:"rss_bytes"`
	Threads    int     `json:"threads"`
	ReadBytes  uint64  `json:"read_bytes"`  // storage bytes read (io: read_bytes)
	WriteBytes uint64  `json:"write_bytes"` // storage bytes written (io: write_bytes)
	Sockets    int     `json:"sockets"`
	// SocketInodes are the inodes of the open sockets (for the network sensor).
	SocketInodes []uint64 `json:"-"`
}

// Session is one session's counters at one instant.
type Session struct {
	ID        string       `json:"id"`
	Time      time.Time    `json:"time"`
	Procs     []Proc       `json:"procs"`
	Cgroup    cgroup.Usage `json:"cgroup"`
	DiskBytes uint64       `json:"disk_bytes"`
	// NetRxBytes and NetTxBytes count what the session's sockets received
	// and sent, by NetMethod: NetCgroupSKB, every IP packet (headers
	// included) of every protocol; NetSockDiag, the TCP payload received and
	// acknowledged (see gmma/README.md "Network bytes").
	NetRxBytes uint64 `json:"net_rx_bytes"`
	NetTxBytes uint64 `json:"net_tx_bytes"`
	NetMethod  string `json:"net_method,omitempty"`
	// NetNote says why the fallback NetSockDiag was used.
	NetNote string `json:"net_note,omitempty"`
}

// Node is the whole node's counters at one instant.
type Node struct {
	Time            time.Time `json:"time"`
	Cores           int       `json:"cores"`
	CPUBusySeconds  float64   `json:"cpu_busy_seconds"`
	CPUTotalSeconds float64   `json:"cpu_total_seconds"`
	Load1           float64   `json:"load1"`
	MemTotalBytes   uint64    `json:"mem_total_bytes"`
	MemAvailBytes   uint64    `json:"mem_avail_bytes"`
	DiskTotalBytes  uint64    `json:"disk_total_bytes"`
	DiskFreeBytes   uint64    `json:"disk_free_bytes"`
	NetRxBytes      uint64    `json:"net_rx_bytes"`
	NetTxBytes      uint64    `json:"net_tx_bytes"`
}

// Target says what belongs to a session.
type Target struct {
	Session string
	// Group is the session cgroup; its processes are the session's.
	Group cgroup.Group
	// PIDs are used when Group is nil (tests on a fixture tree).
	PIDs []int
	// DiskPaths are the session's areas (home, scratch) whose usage counts.
	DiskPaths []string
}
