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
)

// Matcher filters nodes on a template's static requirements.
type Matcher interface {
	// Match returns "" when n can ever run t, else the reason it cannot.
	Match(t *proto.Template, n NodeView) string
}

// StaticMatcher checks presence, the requested node, hardware, OS, CPU type
// and installed applications against the node's static description.
type StaticMatcher struct{}

var _ Matcher = StaticMatcher{}

// Match implements Matcher.
func (StaticMatcher) Match(t *proto.Template, n NodeView) string {
	checks := []func(*proto.Template, NodeView) string{
		matchOnline, matchNamed, matchSize, matchOS, matchCPU, matchApplications,
	}
	for _, c := range checks {
		if why := c(t, n); why != "" {
			return why
		}
	}
	return ""
}

func matchOnline(_ *proto.Template, n NodeView) string {
	if !n.Online {
		return ReasonOffline
	}
	return ""
}

func matchNamed(t *proto.Template, n NodeView) string {
	if t.Node != "" && t.Node != n.Name {
		return fmt.Sprintf("%s (%s)", ReasonNotRequested, t.Node)
	}
	return ""
}

func matchSize(t *proto.Template, n NodeView) string {
	disk := n.DiskMB
	if n.Load.DiskFreeMB > 0 {
		disk = n.Load.DiskFreeMB
	}
	sizes := []struct {
		reason, unit string
		want, have   int
	}{
		{ReasonCores, "", t.CoresDemand(), n.CPU.Cores},
		{ReasonMemory, " MB", t.MemoryMB, n.MemoryMB},
		{ReasonSwap, " MB", t.SwapMB, n.SwapMB},
		{ReasonDisk, " MB", t.DiskMB, disk},
	}
	for _, s := range sizes {
		if s.want > s.have {
			return fmt.Sprintf("%s %d%s > node's %d%s", s.reason, s.want, s.unit, s.have, s.unit)
		}
	}
	return ""
}

func matchOS(t *proto.Template, n NodeView) string {
	fields := []struct{ name, want, have string }{
		{"name", t.OS.Name, n.OS.Name},
		{"vendor", t.OS.Vendor, n.OS.Vendor},
		{"version", t.OS.Version, n.OS.Version},
	}
	for _, f := range fields {
		if f.want != "" && !strings.EqualFold(f.want, f.have) {
			return fmt.Sprintf("%s %s %q != node's %q", ReasonOS, f.name, f.want, f.have)
		}
	}
	return ""
}

func matchCPU(t *proto.Template, n NodeView) string {
	if t.CPU.Type != "" && !strings.EqualFold(t.CPU.Type, n.CPU.Type) {
		return fmt.Sprintf("%s %q != node's %q", ReasonCPUType, t.CPU.Type, n.CPU.Type)
	}
	if t.CPU.ClockMHz > 0 && n.CPU.ClockMHz > 0 && t.CPU.ClockMHz > n.CPU.ClockMHz {
		return fmt.Sprintf("%s %d MHz > node's %d MHz", ReasonCPUClock, t.CPU.ClockMHz, n.CPU.ClockMHz)
	}
	return ""
}

func matchApplications(t *proto.Template, n NodeView) string {
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
