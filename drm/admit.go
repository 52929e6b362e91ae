package drm

import (
	"fmt"

	"github.com/igrid/igrid/drm/store"
)

// AdmitName names the admission stage.
const AdmitName = "admit"

// Admission rejection reasons besides ReasonCores and ReasonMemory; every
// admission reason says what is free.
const (
	ReasonCPU       = "cpu"
	ReasonBandwidth = "bandwidth"
	ReasonSlots     = "session slots"
)

// CapacityAdmitter admits a session on a node when, at every instant of
// its window, its demand (with the application profiles' estimates of CPU
// and bandwidth) fits beside what the node's other bookings hold: cores,
// memory, CPU %, bandwidth and session slots. The store's Book runs it
// inside the reserving transaction over the peak of the node's timeline;
// PreCheck runs it on the snapshot first so that ranking only sees nodes
// with room.
type CapacityAdmitter struct{}

var _ store.Admitter = CapacityAdmitter{}

// Admit implements store.Admitter.
func (CapacityAdmitter) Admit(c store.Candidate, reserved, demand store.Capacity) string {
	cp := c.Capacity
	if free := cp.Cores - reserved.Cores; demand.Cores > free {
		return fmt.Sprintf("%s %d > free %d", ReasonCores, demand.Cores, max(free, 0))
	}
	if free := cp.MemoryMB - reserved.MemoryMB; demand.MemoryMB > free {
		return fmt.Sprintf("%s %d MB > free %d MB", ReasonMemory, demand.MemoryMB, max(free, 0))
	}
	cpuCap := cp.CPUPercent
	if cpuCap == 0 {
		cpuCap = 100 * cp.Cores
	}
	if free := cpuCap - reserved.CPUPercent; demand.CPUPercent > free {
		return fmt.Sprintf("%s %d%% > free %d%%", ReasonCPU, demand.CPUPercent, max(free, 0))
	}
	if free := cp.BandwidthKbps - reserved.BandwidthKbps; cp.BandwidthKbps > 0 && demand.BandwidthKbps > free {
		return fmt.Sprintf("%s %d kbps > free %d kbps", ReasonBandwidth, demand.BandwidthKbps, max(free, 0))
	}
	if cp.Sessions > 0 && reserved.Sessions+demand.Sessions > cp.Sessions {
		return fmt.Sprintf("%s: all %d taken", ReasonSlots, cp.Sessions)
	}
	return ""
}

// PreCheck is Admit over the snapshot's reserved figures.
func (a CapacityAdmitter) PreCheck(n *NodeView, demand store.Capacity) string {
	return a.Admit(store.Candidate{Node: n.Name, Capacity: n.Capacity()}, n.Reserved, demand)
}
