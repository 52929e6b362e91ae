package drm

import (
	"github.com/igrid/igrid/internal/proto"
)

// OnlineFilter rejects nodes whose heartbeats stopped (3 missed beats).
type OnlineFilter struct{}

var _ Filter = OnlineFilter{}

// Name implements Filter.
func (OnlineFilter) Name() string { return "online" }

// Filter implements Filter.
func (OnlineFilter) Filter(t *proto.Template, n *NodeView) string {
	if !n.Online {
		return ReasonOffline
	}
	return ""
}
