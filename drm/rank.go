package drm

import (
	"fmt"
	"maps"
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
	Score(n *NodeView, demand store.Capacity) float64
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
	// TopK, when positive, keeps only the best TopK nodes: the booking
	// needs a few candidates, not a total order of ten thousand.
	TopK int
}

// Rank scores every node and returns them (the best TopK of them) best
// first; ties go to the lower load average, then the name. It does not
// modify nodes.
func (r Ranker) Rank(nodes []NodeView, demand store.Capacity, u UserHistory) []Scored {
	type entry struct {
		i     int
		total float64
		parts [nParts]float64
	}
	better := func(a, b *entry) bool {
		if a.total != b.total {
			return a.total > b.total
		}
		if la, lb := nodes[a.i].Load.Load1, nodes[b.i].Load.Load1; la != lb {
			return la < lb
		}
		return nodes[a.i].Name < nodes[b.i].Name
	}
	k := len(nodes)
	if r.TopK > 0 && r.TopK < k {
		k = r.TopK
	}
	top := make([]entry, 0, k+1)
	affinity := u.Name != ""
	for i := range nodes {
		e := entry{i: i}
		e.parts, e.total = r.parts(&nodes[i], demand, u)
		if len(top) == k && !better(&e, &top[k-1]) {
			continue
		}
		at := len(top)
		for at > 0 && better(&e, &top[at-1]) {
			at--
		}
		top = slices.Insert(top, at, e)
		if len(top) > k {
			top = top[:k]
		}
	}
	out := make([]Scored, len(top))
	for j, e := range top {
		c := map[string]float64{ScorePolicy: e.parts[0]}
		if cp, ok := r.Policy.(componenter); ok {
			maps.Copy(c, cp.Components(&nodes[e.i]))
		}
		if affinity {
			c[ScorePreviousNode], c[ScoreReservedAccount], c[ScoreCachedData] = e.parts[1], e.parts[2], e.parts[3]
		}
		out[j] = Scored{NodeView: nodes[e.i], Score: e.total, Components: c}
	}
	return out
}

// nParts is the number of components parts computes: policy, previous
// node, reserved account, cached data (usual hours come later, for the
// best few only).
const nParts = 4

func (r Ranker) parts(n *NodeView, demand store.Capacity, u UserHistory) ([nParts]float64, float64) {
	p := [nParts]float64{r.Policy.Score(n, demand)}
	if u.Name != "" {
		p[1] = b2f(u.PreviousNode != "" && u.PreviousNode == n.Name)
		p[2] = b2f(slices.Contains(n.ReservedAccounts, u.Name))
		p[3] = b2f(slices.Contains(n.CachedUsers, u.Name))
	}
	w := r.Weights
	return p, w.Policy*p[0] + w.PreviousNode*p[1] + w.ReservedAccount*p[2] + w.CachedData*p[3]
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
func (LeastLoaded) Score(n *NodeView, _ store.Capacity) float64 {
	return 1 - usedFraction(n, store.Capacity{})
}

// BestFit prefers the node the session fills the most: the smallest room
// left after placing it, so large holes stay free for large requests.
type BestFit struct{}

var _ Policy = BestFit{}

// Name implements Policy.
func (BestFit) Name() string { return PolicyBestFit }

// Score implements Policy: the booked fraction after placement.
func (BestFit) Score(n *NodeView, demand store.Capacity) float64 {
	return usedFraction(n, demand)
}

// Spread prefers the node with the fewest sessions booked in the window,
// whatever their size.
type Spread struct{}

var _ Policy = Spread{}

// Name implements Policy.
func (Spread) Name() string { return PolicySpread }

// Score implements Policy: 1 / (1 + sessions booked).
func (Spread) Score(n *NodeView, _ store.Capacity) float64 {
	return 1 / float64(1+n.Reserved.Sessions)
}

// usedFraction is the mean of the cores and memory fractions booked on n
// with extra added; 1 for a node without capacity.
func usedFraction(n *NodeView, extra store.Capacity) float64 {
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
