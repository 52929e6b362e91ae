package drm

import (
	"github.com/igrid/igrid/internal/proto"
)

// OSVendorFilter compares the operating system vendor (distribution), case-insensitively.
type OSVendorFilter struct{}

var _ Filter = OSVendorFilter{}

// Name implements Filter.
func (OSVendorFilter) Name() string { return "os.vendor" }

// Filter implements Filter.
func (OSVendorFilter) Filter(t *proto.Template, n *NodeView) string {
	return osField("vendor", t.OS.Vendor, n.OS.Vendor)
}
