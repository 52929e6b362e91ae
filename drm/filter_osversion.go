package drm

import (
	"github.com/igrid/igrid/internal/proto"
)

// OSVersionFilter compares the operating system version exactly (case-insensitively).
type OSVersionFilter struct{}

var _ Filter = OSVersionFilter{}

// Name implements Filter.
func (OSVersionFilter) Name() string { return "os.version" }

// Filter implements Filter.
func (OSVersionFilter) Filter(t *proto.Template, n *NodeView) string {
	return osField("version", t.OS.Version, n.OS.Version)
}
