package drm

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/igrid/igrid/drm/store"
)

// RankName names the ranking stage.
const RankName = "rank"

// Assignment policy names (Config.Policy).
const (
	PolicyLeastLoaded = "least-loaded"
	PolicyBestFit     = "best-fit"
	PolicySpread      = "spread"
)

// Score component names, as the decision trace shows them.
const (
	ScorePolicy          = "policy"
	ScorePreviousNode    = "previous_node"
	ScoreReservedAccount = "reserved_account"
	ScoreCachedData      = "cached_data"
	ScoreUsualHours      = "usual_hours"
)

// Weights weigh the score components; the total is Σ weight × component,
// each component in [0, 1].
type Weights struct {
	Policy          float64 `json:"policy"`
	PreviousNode    float64 `json:"previous_node"`
	ReservedAccount float64 `json:"reserved_account"`
	CachedData      float64 `json:"cached_data"`
	UsualHours      float64 `json:"usual_hours"`
}

// DefaultWeights lets the policy lead and affinity break near-ties in
// favour of the node that has the user's account and data.
func DefaultWeights() Weights {
	return Weights{Policy: 1, PreviousNode: 0.3, ReservedAccount: 0.3, CachedData: 0.4, UsualHours: 0.2}
}

// Policy scores how well a node suits a demand under an assignment policy.
type Policy interface {
	// Name is the config name of the policy.
	Name() string
	// Score is in [0, 1], higher is better.
	Score(n NodeView, demand store.Capacity) float64
}

// PolicyByName returns the named policy.
func PolicyByName(name string) (Policy, error) {
	switch name {
	case "", PolicyLeastLoaded:
		return LeastLoaded{}, nil
	case PolicyBestFit:
		return BestFit{}, nil
	case PolicySpread:
		return Spread{}, nil
	}
	return nil, fmt.Errorf("%w: unknown policy %q (want %s, %s or %s)", ErrConfig, name,
		PolicyLeastLoaded, PolicyBestFit, PolicySpread)
}

// Scored is a node with its score and the components of it.
type Scored struct {
	NodeView
	Score      float64
	Components map[string]float64
}

// Ranker orders feasible nodes, best first.
type Ranker struct {
	Policy  Policy
	Weights Weights
}

// Rank scores every node and returns them best first; ties go to the
// lower load average, then the name. It does not modify nodes.
func (r Ranker) Rank(nodes []NodeView, demand store.Capacity, u UserHistory) []Scored {
	out := make([]Scored, len(nodes))
	for i, n := range nodes {
		out[i] = r.score(n, demand, u)
	}
	slices.SortStableFunc(out, func(a, b Scored) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Load.Load1, b.Load.Load1); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out
}

func (r Ranker) score(n NodeView, demand store.Capacity, u UserHistory) Scored {
	c := map[string]float64{ScorePolicy: r.Policy.Score(n, demand)}
	if u.Name != "" {
		c[ScorePreviousNode] = b2f(u.PreviousNode != "" && u.PreviousNode == n.Name)
		c[ScoreReservedAccount] = b2f(slices.Contains(n.ReservedAccounts, u.Name))
		c[ScoreCachedData] = b2f(slices.Contains(n.CachedUsers, u.Name))
		if u.HoursFree != nil && len(u.UsualHours) > 0 {
			c[ScoreUsualHours] = u.HoursFree(n)
		}
	}
	w := map[string]float64{ScorePolicy: r.Weights.Policy, ScorePreviousNode: r.Weights.PreviousNode,
		ScoreReservedAccount: r.Weights.ReservedAccount, ScoreCachedData: r.Weights.CachedData,
		ScoreUsualHours: r.Weights.UsualHours}
	total := 0.0
	for k, v := range c {
		total += w[k] * v
	}
	return Scored{NodeView: n, Score: total, Components: c}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// LeastLoaded prefers the node with the smallest share of its cores and
// memory booked in the window, then the lower load average.
type LeastLoaded struct{}

var _ Policy = LeastLoaded{}

// Name implements Policy.
func (LeastLoaded) Name() string { return PolicyLeastLoaded }

// Score implements Policy: 1 − the booked fraction.
func (LeastLoaded) Score(n NodeView, _ store.Capacity) float64 {
	return 1 - usedFraction(n, store.Capacity{})
}

// BestFit prefers the node the session fills the most: the smallest room
// left after placing it, so large holes stay free for large requests.
type BestFit struct{}

var _ Policy = BestFit{}

// Name implements Policy.
func (BestFit) Name() string { return PolicyBestFit }

// Score implements Policy: the booked fraction after placement.
func (BestFit) Score(n NodeView, demand store.Capacity) float64 {
	return usedFraction(n, demand)
}

// Spread prefers the node with the fewest sessions booked in the window,
// whatever their size.
type Spread struct{}

var _ Policy = Spread{}

// Name implements Policy.
func (Spread) Name() string { return PolicySpread }

// Score implements Policy: 1 / (1 + sessions booked).
func (Spread) Score(n NodeView, _ store.Capacity) float64 {
	return 1 / float64(1+n.Reserved.Sessions)
}

// usedFraction is the mean of the cores and memory fractions booked on n
// with extra added; 1 for a node without capacity.
func usedFraction(n NodeView, extra store.Capacity) float64 {
	c := n.Capacity()
	if c.Cores <= 0 {
		return 1
	}
	f := float64(n.Reserved.Cores+extra.Cores) / float64(c.Cores)
	if c.MemoryMB > 0 {
		f = (f + float64(n.Reserved.MemoryMB+extra.MemoryMB)/float64(c.MemoryMB)) / 2
	}
	return min(max(f, 0), 1)
}
