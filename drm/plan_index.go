package drm

import (
	"fmt"
	"slices"

	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/internal/proto"
)

// planIndexed is plan over a nodeIndex, with the same answer as plan
// over every node: the same ranked candidates, the same rejections in the
// same order and the same counts. The full per-node work — the filter
// chain, the admission pre-check, a score — is done only for the nodes
// that can differ from their class: those holding bookings in the window
// and those with affinity to the user. Every other node costs an array
// lookup of its class's verdict; of the idle nodes that pass, only the
// first TopK of each class in tie-break order are ranked, since no other
// can beat them. Match rejections past MaxTraceNodes are counted, not
// listed (they never come back: the queueing path sees only matching
// nodes).
func (sc *Scheduler) planIndexed(t *proto.Template, x *nodeIndex, held peakSet, d store.Capacity, u UserHistory, tr *Trace, bufs *planBufs) (matched func() []NodeView, ranked []Scored) {
	sp := newSpecials(x, held, t, u)
	defer sp.release()
	verdicts := sc.classVerdicts(t, x, d)
	namedWhy := ""
	if t.Node != "" {
		namedWhy = fmt.Sprintf("%s (%s)", ReasonNotRequested, t.Node)
	}
	tr.Considered = len(x.statuses)
	cands := sc.scan(t, x, sp, verdicts, namedWhy, d, u, tr, bufs)
	if t.Node == "" {
		cands = sc.idlePicks(x, verdicts, sp, cands, d)
	}
	bufs.nodes, bufs.totals = cands.nodes, cands.totals
	ranked = sc.Rank.Rank(cands.top(sc.Rank.TopK, bufs), d, u)
	for i, s := range ranked {
		nt := tr.node(s.Name)
		nt.Verdict, nt.Rank, nt.Score, nt.Components = VerdictCandidate, i+1, s.Score, s.Components
	}
	return func() []NodeView { return sc.matchedIndexed(t, x, held, d, verdicts, namedWhy) }, ranked
}

// scan is the one pass over every node in node order: match verdicts
// (the node's own, else its class's) recorded as the full scan would,
// and the nodes looked at one by one checked and given their totals.
func (sc *Scheduler) scan(t *proto.Template, x *nodeIndex, sp *specials, verdicts []classVerdict, namedWhy string, d store.Capacity, u UserHistory, tr *Trace, bufs *planBufs) totaled {
	listed := 0
	n := len(sp.nodes) + len(x.classes)*max(sc.Rank.TopK, 1)
	cands := totaled{nodes: slices.Grow(bufs.nodes[:0], n), totals: slices.Grow(bufs.totals[:0], n)}
	// rep and nv are reused from node to node: passed by pointer to the
	// admitter's and ranker's interfaces they live on the heap, and one
	// each per scan beats one per node looked at.
	var rep, nv NodeView
	// quiet[c]: an online idle member of class c passes match and the idle
	// admission check, so (not being a special) it costs nothing here —
	// the common case, tested first on the index's compact arrays.
	quiet := make([]bool, len(verdicts))
	for c := range verdicts {
		quiet[c] = t.Node == "" && verdicts[c].why == "" && verdicts[c].idleWhy == ""
	}
	for i := range x.statuses {
		if sp.mark[i] == 0 && x.online[i] && quiet[x.class[i]] {
			continue
		}
		f, why := x.nodeVerdict(t, i, namedWhy)
		v := &verdicts[x.class[i]]
		if why == "" {
			f, why = v.filter, v.why
		}
		if why != "" {
			if listed < MaxTraceNodes {
				tr.reject(x.statuses[i].Name, MatchName, f, why)
				listed++
			} else {
				tr.unlisted(MatchName, f)
			}
			continue
		}
		j := sp.mark[i]
		if j == 0 {
			if v.idleWhy != "" {
				tr.reject(x.statuses[i].Name, AdmitName, "", v.idleWhy)
			}
			continue
		}
		// The class's representative stands in for the node's capacity,
		// so that the status (cold in memory) is read only when needed.
		rep = NodeView{NodeStatus: &x.statuses[x.classes[x.class[i]].rep], Reserved: sp.held[j-1]}
		if why := sc.Admit.PreCheck(&rep, d); why != "" {
			tr.reject(x.statuses[i].Name, AdmitName, "", why)
			continue
		}
		nv = NodeView{NodeStatus: &x.statuses[i], Reserved: sp.held[j-1]}
		total := sc.plainTotal(&rep, d)
		if sp.affine[j-1] {
			_, total = sc.Rank.parts(&nv, d, u)
		}
		cands = cands.add(nv, total)
	}
	return cands
}

// classVerdict is what a class's static description earns: the filter
// that rejects it, and for an idle member, the admission reason.
type classVerdict struct {
	filter, why string
	idleWhy     string
}

func (sc *Scheduler) classVerdicts(t *proto.Template, x *nodeIndex, d store.Capacity) []classVerdict {
	out := make([]classVerdict, len(x.classes))
	for c := range x.classes {
		rep := NodeView{NodeStatus: &x.statuses[x.classes[c].rep]}
		v := &out[c]
		if v.filter, v.why = classMatch(t, &rep); v.why == "" {
			v.idleWhy = sc.Admit.PreCheck(&rep, d)
		}
	}
	return out
}

// nodeVerdict is the per-node part of the default chain (online, named
// node) for node i, namedWhy its precomputed "not the requested node"
// reason. It reads the index's compact arrays, not the status.
func (x *nodeIndex) nodeVerdict(t *proto.Template, i int, namedWhy string) (string, string) {
	if !x.online[i] {
		return OnlineFilter{}.Name(), ReasonOffline
	}
	if t.Node != "" && t.Node != x.statuses[i].Name {
		return NamedNodeFilter{}.Name(), namedWhy
	}
	return "", ""
}

// idlePicks adds, for every class whose idle members fit, the first TopK
// of them in tie-break order that are not already candidates.
func (sc *Scheduler) idlePicks(x *nodeIndex, verdicts []classVerdict, sp *specials, cands totaled, d store.Capacity) totaled {
	k := sc.Rank.TopK
	for c := range x.classes {
		if v := verdicts[c]; v.why != "" || v.idleWhy != "" {
			continue
		}
		total := sc.plainTotal(&NodeView{NodeStatus: &x.statuses[x.classes[c].rep]}, d)
		taken := 0
		for _, i := range x.classes[c].members {
			if k > 0 && taken == k {
				break
			}
			if sp.mark[i] != 0 {
				continue
			}
			cands = cands.add(NodeView{NodeStatus: &x.statuses[i]}, total)
			taken++
		}
	}
	return cands
}

// plainTotal is the total score Ranker.parts gives a node without
// affinity to the user: the policy's part alone, in the same arithmetic.
// n may be the node's class representative: the built-in policies read
// only the capacity and the reserved figures; GridAware scores a node that
// is not grid-busy like its base policy, and grid-busy ones are specials.
func (sc *Scheduler) plainTotal(n *NodeView, d store.Capacity) float64 {
	w := sc.Rank.Weights
	return w.Policy*sc.basePolicy().Score(n, d) + w.PreviousNode*0 + w.ReservedAccount*0 + w.CachedData*0
}

// totaled is the candidates with the total score each will get.
type totaled struct {
	nodes  []NodeView
	totals []float64
}

func (c totaled) add(n NodeView, total float64) totaled {
	c.nodes, c.totals = append(c.nodes, n), append(c.totals, total)
	return c
}

// top keeps the candidates that can be among the best k: those whose
// total reaches the k-th best total (ties are kept for the ranker's
// tie-break). Every one dropped has k candidates strictly better.
func (c totaled) top(k int, bufs *planBufs) []NodeView {
	if k <= 0 || len(c.nodes) <= k {
		return c.nodes
	}
	bar := kthLargest(c.totals, k, bufs)
	out := make([]NodeView, 0, 2*k)
	for i, t := range c.totals {
		if t >= bar {
			out = append(out, c.nodes[i])
		}
	}
	return out
}

// matchedIndexed is plan's matched list over the index: the nodes that
// pass match, those admission refused first, each part in node order.
func (sc *Scheduler) matchedIndexed(t *proto.Template, x *nodeIndex, peaks peakSet, d store.Capacity, verdicts []classVerdict, namedWhy string) []NodeView {
	held := peakMap(peaks)
	var unfit, fit []NodeView
	for i := range x.statuses {
		st := &x.statuses[i]
		if _, why := x.nodeVerdict(t, i, namedWhy); why != "" || verdicts[x.class[i]].why != "" {
			continue
		}
		n := NodeView{NodeStatus: st, Reserved: held[st.Name]}
		if sc.Admit.PreCheck(&n, d) != "" {
			unfit = append(unfit, n)
		} else {
			fit = append(fit, n)
		}
	}
	return append(unfit, fit...)
}

// specials are the nodes a decision looks at one by one: those holding
// bookings in the window, those with affinity to the user, the grid-busy
// ones, and the named node. mark[i] is 1 + the node's entry in held, 0 for the others; the
// marks array is pooled and cleared after use.
type specials struct {
	mark   []int32
	nodes  []int
	held   []store.Capacity
	affine []bool // the node may score an affinity or a grid-load component: full parts
	x      *nodeIndex
}

func newSpecials(x *nodeIndex, held peakSet, t *proto.Template, u UserHistory) *specials {
	sp := x.takeSpecials()
	add := func(i int, c store.Capacity, affine bool) {
		if sp.mark[i] == 0 {
			sp.nodes, sp.held, sp.affine = append(sp.nodes, i), append(sp.held, c), append(sp.affine, false)
			sp.mark[i] = int32(len(sp.held))
		}
		sp.affine[sp.mark[i]-1] = sp.affine[sp.mark[i]-1] || affine
	}
	pos := x.translate(held.names)
	for _, p := range held.list {
		if i := pos[p.nid]; i >= 0 {
			add(int(i), p.held, false)
		}
	}
	for _, i := range x.affinity[u.Name] {
		add(i, store.Capacity{}, true)
	}
	for _, i := range x.gridBusy { // scored on their own load, like affinity
		add(i, store.Capacity{}, true)
	}
	for _, name := range []string{u.PreviousNode, t.Node} {
		if i, ok := x.pos[name]; ok && name != "" {
			add(i, store.Capacity{}, true)
		}
	}
	return sp
}

func (sp *specials) release() {
	for _, i := range sp.nodes {
		sp.mark[i] = 0
	}
	sp.nodes, sp.held, sp.affine = sp.nodes[:0], sp.held[:0], sp.affine[:0]
	sp.x.mu.Lock()
	sp.x.free = append(sp.x.free, sp)
	sp.x.mu.Unlock()
}

// takeSpecials returns an empty specials of x, its marks array zeroed,
// from the index's free list (kept off sync.Pool so a GC does not drop
// them): a decision reuses the marks and the lists of an earlier one.
func (x *nodeIndex) takeSpecials() *specials {
	x.mu.Lock()
	defer x.mu.Unlock()
	if n := len(x.free); n > 0 {
		sp := x.free[n-1]
		x.free = x.free[:n-1]
		return sp
	}
	return &specials{mark: make([]int32, len(x.statuses)), x: x}
}

// translate maps a book's node numbers (names) to positions in the
// index, -1 for nodes it does not have. The translation is kept while the
// book's numbering only grows.
func (x *nodeIndex) translate(names []string) []int32 {
	if len(names) == 0 {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.names) > len(names) || (len(x.names) > 0 && &x.names[0] != &names[0]) {
		x.names, x.nidPos = nil, nil
	}
	for _, n := range names[len(x.names):] {
		i, ok := x.pos[n]
		if !ok {
			i = -1
		}
		x.nidPos = append(x.nidPos, int32(i))
	}
	x.names = names
	return x.nidPos[:len(names):len(names)]
}
