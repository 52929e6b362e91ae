package drm

import (
	"fmt"

	"github.com/igrid/igrid/drm/store"
)

// AdmitName names the admission stage.
const AdmitName = "admit"

// Admission rejection reasons share the resource names of match
// (ReasonCores, ReasonMemory) and add the word "free".

// CapacityAdmitter admits a session on a node when its cores and memory fit
// beside what overlapping sessions already reserve there. The store's
// Reserve runs it inside the reserving transaction; PreCheck runs it on the
// snapshot first so that ranking only sees nodes with room.
type CapacityAdmitter struct{}

var _ store.Admitter = CapacityAdmitter{}

// Admit implements store.Admitter.
func (CapacityAdmitter) Admit(c store.Candidate, reserved, demand store.Capacity) string {
	if free := c.Capacity.Cores - reserved.Cores; demand.Cores > free {
		return fmt.Sprintf("%s %d > free %d", ReasonCores, demand.Cores, max(free, 0))
	}
	if free := c.Capacity.MemoryMB - reserved.MemoryMB; demand.MemoryMB > free {
		return fmt.Sprintf("%s %d MB > free %d MB", ReasonMemory, demand.MemoryMB, max(free, 0))
	}
	return ""
}

// PreCheck is Admit over the snapshot's reserved figures.
func (a CapacityAdmitter) PreCheck(n NodeView, demand store.Capacity) string {
	return a.Admit(store.Candidate{Node: n.Name, Capacity: n.Capacity()}, n.Reserved, demand)
}
