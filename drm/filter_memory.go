package drm

import (
	"github.com/igrid/igrid/internal/proto"
)

// MemoryFilter rejects nodes with less memory than asked.
type MemoryFilter struct{}

var _ Filter = MemoryFilter{}

// Name implements Filter.
func (MemoryFilter) Name() string { return "memory_mb" }

// Filter implements Filter.
func (MemoryFilter) Filter(t *proto.Template, n *NodeView) string {
	return sizeReason(ReasonMemory, " MB", t.MemoryMB, n.MemoryMB)
}
