package drm

import (
	"fmt"
	"strings"

	"github.com/igrid/igrid/internal/proto"
)

// ApplicationsFilter rejects nodes missing any asked application, naming every missing one.
type ApplicationsFilter struct{}

var _ Filter = ApplicationsFilter{}

// Name implements Filter.
func (ApplicationsFilter) Name() string { return "applications" }

// Filter implements Filter.
func (ApplicationsFilter) Filter(t *proto.Template, n NodeView) string {
	have := make(map[string]bool, len(n.Applications))
	for _, a := range n.Applications {
		have[a] = true
	}
	var missing []string
	for _, a := range t.Applications {
		if !have[a] {
			missing = append(missing, a)
		}
	}
	if len(missing) > 0 {
		return fmt.Sprintf("%s not installed: %s", ReasonApplications, strings.Join(missing, ", "))
	}
	return ""
}
