package drm

import (
	"fmt"
	"slices"
	"strings"

	"github.com/igrid/igrid/internal/proto"
)

// ApplicationsFilter rejects nodes missing any asked application, naming every missing one.
type ApplicationsFilter struct{}

var _ Filter = ApplicationsFilter{}

// Name implements Filter.
func (ApplicationsFilter) Name() string { return "applications" }

// Filter implements Filter.
func (ApplicationsFilter) Filter(t *proto.Template, n *NodeView) string {
	var missing []string
	for _, a := range t.Applications {
		if !slices.Contains(n.Applications, a) { // lists are short: no map
			missing = append(missing, a)
		}
	}
	if len(missing) > 0 {
		return fmt.Sprintf("%s not installed: %s", ReasonApplications, strings.Join(missing, ", "))
	}
	return ""
}
