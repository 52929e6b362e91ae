package drm

import (
	"github.com/igrid/igrid/internal/proto"
)

// SwapFilter rejects nodes with less swap than asked.
type SwapFilter struct{}

var _ Filter = SwapFilter{}

// Name implements Filter.
func (SwapFilter) Name() string { return "swap_mb" }

// Filter implements Filter.
func (SwapFilter) Filter(t *proto.Template, n *NodeView) string {
	return sizeReason(ReasonSwap, " MB", t.SwapMB, n.SwapMB)
}
