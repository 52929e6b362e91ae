package drm

import (
	"fmt"

	"github.com/igrid/igrid/internal/proto"
)

// CPUClockFilter rejects nodes slower than the asked clock; a node that does not report its clock is not rejected for it.
type CPUClockFilter struct{}

var _ Filter = CPUClockFilter{}

// Name implements Filter.
func (CPUClockFilter) Name() string { return "cpu.clock_mhz" }

// Filter implements Filter.
func (CPUClockFilter) Filter(t *proto.Template, n *NodeView) string {
	if t.CPU.ClockMHz > 0 && n.CPU.ClockMHz > 0 && t.CPU.ClockMHz > n.CPU.ClockMHz {
		return fmt.Sprintf("%s %d MHz > node's %d MHz", ReasonCPUClock, t.CPU.ClockMHz, n.CPU.ClockMHz)
	}
	return ""
}
