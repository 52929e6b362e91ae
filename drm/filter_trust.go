package drm

import (
	"fmt"
	"strings"

	"github.com/igrid/igrid/internal/proto"
)

// TrustFilter rejects nodes whose trust level is below the asked one (TrustLevels order them; a node that reports none is standard).
type TrustFilter struct{}

var _ Filter = TrustFilter{}

// Name implements Filter.
func (TrustFilter) Name() string { return "security.trust_level" }

// Filter implements Filter.
func (TrustFilter) Filter(t *proto.Template, n *NodeView) string {
	if t.Security.TrustLevel == "" {
		return ""
	}
	want, have := TrustRank(t.Security.TrustLevel), TrustRank(n.TrustLevel)
	if want < 0 {
		return fmt.Sprintf("%s %q is not one of %s", ReasonTrust, t.Security.TrustLevel, strings.Join(TrustLevels, ", "))
	}
	if have < want {
		node := n.TrustLevel
		if node == "" {
			node = DefaultTrust
		}
		return fmt.Sprintf("%s: node's %q < asked %q", ReasonTrust, node, t.Security.TrustLevel)
	}
	return ""
}
