package drm

import (
	"github.com/igrid/igrid/internal/proto"
)

// DiskFilter rejects nodes with less disk than asked: the free disk the node last reported, else its size.
type DiskFilter struct{}

var _ Filter = DiskFilter{}

// Name implements Filter.
func (DiskFilter) Name() string { return "disk_mb" }

// Filter implements Filter.
func (DiskFilter) Filter(t *proto.Template, n *NodeView) string {
	disk := n.DiskMB
	if n.Load.DiskFreeMB > 0 {
		disk = n.Load.DiskFreeMB
	}
	return sizeReason(ReasonDisk, " MB", t.DiskMB, disk)
}
