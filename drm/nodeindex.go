package drm

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/igrid/igrid/internal/proto"
)

// nodeIndex groups the nodes of one statuses slice so that a decision
// touches only the plausible ones. Nodes with the same static description
// (every field a default match filter reads, and the capacity) form a
// class: the class-level filters run once per class, not once per node.
// Inside a class, an idle node (nothing booked in the window) with no
// affinity to the user scores exactly like every other such node, so only
// the first few in the ranker's tie-break order (load average, then name)
// can make the top K: members are kept in that order and the decision
// stops after K of them.
type nodeIndex struct {
	statuses []proto.NodeStatus
	pos      map[string]int // node name → index in statuses
	class    []int32        // node index → class
	online   []bool         // node index → online
	classes  []nodeClass
	// affinity maps a user to the nodes that reserve their account or
	// cache their data.
	affinity map[string][]int
	// gridBusy are the nodes whose load came from the grid aggregate with
	// sessions using CPU: GridAware scores them apart from their class.
	gridBusy []int

	mu     sync.Mutex
	free   []*specials // released ones, marks zeroed (plan_index.go)
	names  []string    // the book numbering nidPos translates
	nidPos []int32
}

type nodeClass struct {
	rep     int   // a member, whose static fields stand for the class
	members []int // online nodes, in the ranker's tie-break order
	offline int   // members that are offline
}

// classKey is every NodeInfo field the class-level filters and the
// capacity read — everything but the name and the cluster.
func classKey(n *proto.NodeInfo) string {
	return fmt.Sprintf("%q|%q|%q|%q|%d|%d|%d|%d|%d|%q|%d|%d", n.OS.Name, n.OS.Vendor, n.OS.Version, n.CPU.Type,
		n.CPU.ClockMHz, n.CPU.Cores, n.MemoryMB, n.SwapMB, n.DiskMB, n.TrustLevel, n.BandwidthKbps, n.MaxSessions) +
		"|" + strings.Join(n.Applications, "\x00")
}

func newNodeIndex(statuses []proto.NodeStatus) *nodeIndex {
	x := &nodeIndex{statuses: statuses, pos: make(map[string]int, len(statuses)),
		class: make([]int32, len(statuses)), online: make([]bool, len(statuses)), affinity: map[string][]int{}}
	byKey := map[string]int{}
	for i := range statuses {
		st := &statuses[i]
		x.pos[st.Name] = i
		k := classKey(&st.NodeInfo)
		c, ok := byKey[k]
		if !ok {
			c = len(x.classes)
			byKey[k] = c
			x.classes = append(x.classes, nodeClass{rep: i})
		}
		x.class[i], x.online[i] = int32(c), st.Online
		if st.Online {
			x.classes[c].members = append(x.classes[c].members, i)
		} else {
			x.classes[c].offline++
		}
		if used, ok := gridCPUUsed(&NodeView{NodeStatus: st}); ok && used > 0 {
			x.gridBusy = append(x.gridBusy, i)
		}
		for _, u := range st.ReservedAccounts {
			x.affinity[u] = append(x.affinity[u], i)
		}
		for _, u := range st.CachedUsers {
			if !slices.Contains(st.ReservedAccounts, u) {
				x.affinity[u] = append(x.affinity[u], i)
			}
		}
	}
	for c := range x.classes {
		slices.SortFunc(x.classes[c].members, func(a, b int) int {
			if c := cmp.Compare(statuses[a].Load.Load1, statuses[b].Load.Load1); c != 0 {
				return c
			}
			return strings.Compare(statuses[a].Name, statuses[b].Name)
		})
	}
	return x
}

// indexCache keeps the index of the latest statuses slice: the registry
// hands out one shared slice until a node changes (Registry.Shared), so
// the index is rebuilt only then.
type indexCache struct {
	mu  sync.Mutex
	idx *nodeIndex
}

func (c *indexCache) get(statuses []proto.NodeStatus) *nodeIndex {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idx != nil && sameSlice(c.idx.statuses, statuses) {
		return c.idx
	}
	c.idx = newNodeIndex(statuses)
	return c.idx
}

func sameSlice(a, b []proto.NodeStatus) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// indexable reports whether the index gives the same answer as visiting
// every node: the default filter chain and a built-in policy, whose
// scores read only the capacity and the reserved figures — also behind
// GridAware, whose grid-busy nodes are looked at one by one (specials).
func (sc *Scheduler) indexable() bool {
	if sc.Match.Filters != nil {
		return false
	}
	switch sc.basePolicy().(type) {
	case LeastLoaded, BestFit, Spread:
		return true
	}
	return false
}

// basePolicy is the ranking policy without its GridAware wrapper.
func (sc *Scheduler) basePolicy() Policy {
	if g, ok := sc.Rank.Policy.(GridAware); ok {
		return g.Policy
	}
	return sc.Rank.Policy
}

// classFilters are the default filters that read only a node's static
// description; OnlineFilter and NamedNodeFilter run per node.
var classFilters = defaultFilters[2:]

// classMatch runs the class-level filters on the class's representative.
func classMatch(t *proto.Template, n *NodeView) (string, string) {
	for _, f := range classFilters {
		if why := f.Filter(t, n); why != "" {
			return f.Name(), why
		}
	}
	return "", ""
}
