package drm

import (
	"cmp"
	"slices"
)

// RankName names the ranking stage.
const RankName = "rank"

// Ranker orders feasible nodes, best first.
type Ranker interface {
	// Rank returns nodes sorted best first; it does not modify its input.
	Rank(nodes []NodeView) []NodeView
}

// LeastLoaded puts first the node with the smallest fraction of its cores
// reserved in the window, then the lowest load average, then by name.
type LeastLoaded struct{}

var _ Ranker = LeastLoaded{}

// Rank implements Ranker.
func (LeastLoaded) Rank(nodes []NodeView) []NodeView {
	out := slices.Clone(nodes)
	slices.SortStableFunc(out, func(a, b NodeView) int {
		if c := cmp.Compare(reservedFraction(a), reservedFraction(b)); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Load.Load1, b.Load.Load1); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out
}

func reservedFraction(n NodeView) float64 {
	if n.CPU.Cores <= 0 {
		return 1
	}
	return float64(n.Reserved.Cores) / float64(n.CPU.Cores)
}
