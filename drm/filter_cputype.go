package drm

import (
	"fmt"
	"strings"

	"github.com/igrid/igrid/internal/proto"
)

// CPUTypeFilter compares the CPU architecture, case-insensitively.
type CPUTypeFilter struct{}

var _ Filter = CPUTypeFilter{}

// Name implements Filter.
func (CPUTypeFilter) Name() string { return "cpu.type" }

// Filter implements Filter.
func (CPUTypeFilter) Filter(t *proto.Template, n *NodeView) string {
	if t.CPU.Type != "" && !strings.EqualFold(t.CPU.Type, n.CPU.Type) {
		return fmt.Sprintf("%s %q != node's %q", ReasonCPUType, t.CPU.Type, n.CPU.Type)
	}
	return ""
}
