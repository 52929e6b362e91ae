package drm

import (
	"fmt"
	"strings"

	"github.com/igrid/igrid/internal/proto"
)

// MatchName names the match stage.
const MatchName = "match"

// Match rejection reasons; each reason text a node gets starts with one.
const (
	ReasonOffline      = "offline"
	ReasonNotRequested = "not the requested node"
	ReasonCores        = "cores"
	ReasonMemory       = "memory"
	ReasonSwap         = "swap"
	ReasonDisk         = "disk"
	ReasonOS           = "os"
	ReasonCPUType      = "cpu type"
	ReasonCPUClock     = "cpu clock"
	ReasonApplications = "applications"
	ReasonTrust        = "trust level"
)

// Filter is one static requirement of the match stage (a feasibility
// checker): it sees one template and one node and does no I/O.
type Filter interface {
	// Name is the template field the filter checks, shown in traces.
	Name() string
	// Filter returns "" when n can ever run t, else the reason it cannot.
	Filter(t *proto.Template, n *NodeView) string
}

// DefaultFilters is the match chain, cheapest and most selective first.
func DefaultFilters() []Filter {
	return []Filter{
		OnlineFilter{}, NamedNodeFilter{}, CoresFilter{}, MemoryFilter{}, SwapFilter{}, DiskFilter{},
		OSNameFilter{}, OSVendorFilter{}, OSVersionFilter{}, CPUTypeFilter{}, CPUClockFilter{},
		ApplicationsFilter{}, TrustFilter{},
	}
}

// Matcher filters nodes on a template's static requirements.
type Matcher interface {
	// Match returns "" when n can ever run t, else the reason it cannot.
	Match(t *proto.Template, n NodeView) string
}

// StaticMatcher runs a chain of filters; the zero value runs
// DefaultFilters.
type StaticMatcher struct {
	Filters []Filter
}

var _ Matcher = StaticMatcher{}

// Match implements Matcher.
func (m StaticMatcher) Match(t *proto.Template, n NodeView) string {
	_, why := m.MatchBy(t, &n)
	return why
}

// MatchBy is Match that also names the filter that rejected n.
func (m StaticMatcher) MatchBy(t *proto.Template, n *NodeView) (string, string) {
	fs := m.Filters
	if fs == nil {
		fs = defaultFilters
	}
	for _, f := range fs {
		if why := f.Filter(t, n); why != "" {
			return f.Name(), why
		}
	}
	return "", ""
}

var defaultFilters = DefaultFilters()

// TrustLevels are the trust levels, lowest first.
var TrustLevels = []string{"low", "standard", "high"}

// DefaultTrust is the level of a node that reports none.
const DefaultTrust = "standard"

// TrustRank is the position of level in TrustLevels ("" is DefaultTrust),
// or -1 for an unknown level.
func TrustRank(level string) int {
	if level == "" {
		level = DefaultTrust
	}
	for i, l := range TrustLevels {
		if strings.EqualFold(l, level) {
			return i
		}
	}
	return -1
}

func osField(field, want, have string) string {
	if want != "" && !strings.EqualFold(want, have) {
		return fmt.Sprintf("%s %s %q != node's %q", ReasonOS, field, want, have)
	}
	return ""
}

func sizeReason(reason, unit string, want, have int) string {
	if want > have {
		return fmt.Sprintf("%s %d%s > node's %d%s", reason, want, unit, have, unit)
	}
	return ""
}
