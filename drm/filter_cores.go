package drm

import (
	"github.com/igrid/igrid/internal/proto"
)

// CoresFilter rejects nodes with fewer cores than the template reserves.
type CoresFilter struct{}

var _ Filter = CoresFilter{}

// Name implements Filter.
func (CoresFilter) Name() string { return "cpu.cores" }

// Filter implements Filter.
func (CoresFilter) Filter(t *proto.Template, n *NodeView) string {
	return sizeReason(ReasonCores, "", t.CoresDemand(), n.CPU.Cores)
}
