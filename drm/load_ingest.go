package drm

import (
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/gmma"
	"github.com/igrid/igrid/internal/proto"
)

// The DRM reads node load from the top of the GMMA hierarchy: it follows
// the grid aggregate (igrid.gmma.grid, gmma.WatchGrid) and, while that is
// fresh, schedules on the load it carries instead of the load in the nodes'
// heartbeats. The grid load adds what a heartbeat cannot know: the CPU the
// node's grid sessions use as GMMA measured it (GridCPUPercent), which the
// ranking policies weigh beside the bookings.

// LoadFromGrid marks a proto.Load that came from the grid aggregate.
const LoadFromGrid = "gmma_grid"

// ScoreGridCPU is the trace component that shows the share of a node's
// cores its grid sessions use, from the grid aggregate (informational: it
// is already inside the policy score).
const ScoreGridCPU = "grid_cpu_used"

// DefaultGridLoadMaxAge is how old the last grid aggregate may be for its
// loads to be preferred over heartbeats (three grid periods of 10 s).
const DefaultGridLoadMaxAge = 30 * time.Second

// gridLoads is the DRM's window on the grid aggregate.
type gridLoads struct {
	maxAge time.Duration
	mu     sync.Mutex
	view   *gmma.GridView
}

func newGridLoads(maxAge time.Duration) *gridLoads {
	if maxAge <= 0 {
		maxAge = DefaultGridLoadMaxAge
	}
	return &gridLoads{maxAge: maxAge}
}

// watch subscribes to the grid aggregate on nc.
func (g *gridLoads) watch(nc *nats.Conn) error {
	v, err := gmma.WatchGrid(nc)
	if err != nil {
		return err
	}
	g.mu.Lock()
	g.view = v
	g.mu.Unlock()
	return nil
}

// overlay gives every node of out that the fresh grid aggregate lists the
// aggregate's load (Load.From = LoadFromGrid), in place: out must be the
// caller's own (Registry.Shared applies it to each list it builds, before
// sharing it).
func (g *gridLoads) overlay(now time.Time, out []proto.NodeStatus) {
	g.mu.Lock()
	v := g.view
	g.mu.Unlock()
	if v == nil {
		return
	}
	v.Overlay(now, g.maxAge, len(out), func(i int) string { return out[i].Name }, func(i int, l gmma.NodeLoad) {
		ld := l.Load()
		ld.From = LoadFromGrid
		out[i].Load = ld
	})
}

// gridCPUUsed is the share of n's cores its grid sessions use, when n's
// load came from the grid aggregate.
func gridCPUUsed(n *NodeView) (float64, bool) {
	if n.NodeStatus == nil || n.Load.From != LoadFromGrid || n.CPU.Cores <= 0 {
		return 0, false
	}
	return min(max(n.Load.GridCPUPercent/(100*float64(n.CPU.Cores)), 0), 1), true
}

// GridAware makes a policy weigh the measured load of the grid aggregate:
// least-loaded scores 1 − max(booked share, used share), spread scales its
// score by the unused share; best-fit packs by bookings and is unchanged.
// Without a fresh grid load the inner policy scores alone.
type GridAware struct{ Policy }

var _ Policy = GridAware{}

// Score implements Policy.
func (g GridAware) Score(n *NodeView, demand store.Capacity) float64 {
	s := g.Policy.Score(n, demand)
	used, ok := gridCPUUsed(n)
	if !ok {
		return s
	}
	switch g.Policy.(type) {
	case LeastLoaded:
		return min(s, 1-used)
	case Spread:
		return s * (1 - used)
	}
	return s
}

// Components implements componenter: the grid share shown in the trace.
func (g GridAware) Components(n *NodeView) map[string]float64 {
	if used, ok := gridCPUUsed(n); ok {
		return map[string]float64{ScoreGridCPU: used}
	}
	return nil
}

// componenter is a policy with extra trace components.
type componenter interface {
	Components(n *NodeView) map[string]float64
}
