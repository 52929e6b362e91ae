package drm

import (
	"fmt"

	"github.com/igrid/igrid/internal/proto"
)

// NamedNodeFilter keeps only the node the template names, when it names one.
type NamedNodeFilter struct{}

var _ Filter = NamedNodeFilter{}

// Name implements Filter.
func (NamedNodeFilter) Name() string { return "node" }

// Filter implements Filter.
func (NamedNodeFilter) Filter(t *proto.Template, n *NodeView) string {
	if t.Node != "" && t.Node != n.Name {
		return fmt.Sprintf("%s (%s)", ReasonNotRequested, t.Node)
	}
	return ""
}
