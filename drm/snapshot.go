package drm

import (
	"math"
	"time"

	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/internal/proto"
)

// Snapshot is the read-only view the scheduling stages work on: every known
// node with its status and the capacity already reserved on it in the
// requested window, and the requesting user's history. The stages do no
// I/O; the scheduler builds the snapshot, runs them, then books.
type Snapshot struct {
	Now        time.Time
	Start, End time.Time
	Nodes      []NodeView
	User       UserHistory
}

// UserHistory is what data affinity knows of the requesting user.
type UserHistory struct {
	Name         string
	PreviousNode string                   // node of the user's latest session that ran
	UsualHours   []int                    // UTC hours of day the user usually starts at
	HoursFree    func(n NodeView) float64 // fraction of UsualHours n has room at; nil = unknown
}

// NodeView is one node as the scheduler sees it. It points at the
// status (read only: nobody writes through it) so a snapshot of ten
// thousand nodes copies no status.
type NodeView struct {
	*proto.NodeStatus
	// Reserved is the peak that bookings hold on the node in the window.
	Reserved store.Capacity
}

// Capacity is the node's total schedulable capacity.
func (n *NodeView) Capacity() store.Capacity {
	return store.Capacity{Cores: n.CPU.Cores, MemoryMB: n.MemoryMB, CPUPercent: 100 * n.CPU.Cores,
		BandwidthKbps: n.BandwidthKbps, Sessions: n.MaxSessions}
}

// Demand is what a template reserves on its node, without profiles.
func Demand(t *proto.Template) store.Capacity {
	return DemandWith(t, nil)
}

// DemandWith is what a template reserves on its node: cores and memory as
// asked, one session slot, and CPU % and bandwidth as the QoS asks or, when
// it does not, the sum of the application profiles' estimates.
func DemandWith(t *proto.Template, profiles map[string]store.Profile) store.Capacity {
	d := store.Capacity{Cores: t.CoresDemand(), MemoryMB: t.MemoryMB, Sessions: 1,
		CPUPercent: t.QoS.CPUPercent, BandwidthKbps: t.QoS.BandwidthKbps}
	var cpu, bw float64
	for _, a := range t.Applications {
		p := profiles[a]
		cpu += p.CPUPercent
		bw += p.BandwidthKbps
	}
	if d.CPUPercent == 0 {
		d.CPUPercent = int(math.Ceil(cpu))
	}
	if d.BandwidthKbps == 0 {
		d.BandwidthKbps = int(math.Ceil(bw))
	}
	return d
}
