package drm

import (
	"time"

	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/internal/proto"
)

// Snapshot is the read-only view the scheduling stages work on: every known
// node with its status and the capacity already reserved on it in the
// requested window. The stages do no I/O; the scheduler builds the
// snapshot, runs them, then reserves.
type Snapshot struct {
	Now        time.Time
	Start, End time.Time
	Nodes      []NodeView
}

// NodeView is one node as the scheduler sees it.
type NodeView struct {
	proto.NodeStatus
	// Reserved is what holding sessions reserve on the node in the window.
	Reserved store.Capacity
}

// Capacity is the node's total schedulable capacity.
func (n NodeView) Capacity() store.Capacity {
	return store.Capacity{Cores: n.CPU.Cores, MemoryMB: n.MemoryMB}
}

// Demand is what a template reserves on its node.
func Demand(t *proto.Template) store.Capacity {
	return store.Capacity{Cores: t.CoresDemand(), MemoryMB: t.MemoryMB}
}
