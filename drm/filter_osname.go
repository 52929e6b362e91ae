package drm

import (
	"github.com/igrid/igrid/internal/proto"
)

// OSNameFilter compares the operating system name, case-insensitively.
type OSNameFilter struct{}

var _ Filter = OSNameFilter{}

// Name implements Filter.
func (OSNameFilter) Name() string { return "os.name" }

// Filter implements Filter.
func (OSNameFilter) Filter(t *proto.Template, n *NodeView) string {
	return osField("name", t.OS.Name, n.OS.Name)
}
