package drm

import (
	"cmp"
	"slices"
	"time"

	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/internal/proto"
)

// Trace is a scheduling decision as GET /sessions/{id}?explain=1 shows
// it: every node considered, the stage and filter that rejected it or its
// score by component, and the outcome. It is stored with the session.
type Trace struct {
	Policy  string         `json:"policy"`
	Weights Weights        `json:"weights"`
	At      time.Time      `json:"at"`
	Start   time.Time      `json:"start"`
	End     time.Time      `json:"end"`
	Demand  store.Capacity `json:"demand"`
	// PreviousNode and UsualHours are the affinity data about the user.
	PreviousNode string      `json:"previous_node,omitempty"`
	UsualHours   []int       `json:"usual_hours,omitempty"`
	Nodes        []NodeTrace `json:"nodes"`
	Outcome      string      `json:"outcome"` // scheduled, queued or denied
	Node         string      `json:"node,omitempty"`
	Reason       string      `json:"reason,omitempty"`
	// QueuedFrom is the start asked for, when the session was queued to a
	// later start.
	QueuedFrom *time.Time `json:"queued_from,omitempty"`
	// Considered counts the nodes looked at; RejectedBy counts them by
	// stage/filter. Omitted counts the node entries left out of Nodes past
	// MaxTraceNodes (candidates below the best TopK are never listed).
	Considered int            `json:"considered"`
	RejectedBy map[string]int `json:"rejected_by,omitempty"`
	Omitted    int            `json:"omitted,omitempty"`

	idx map[string]int
	// notListed counts, by stage/filter, the rejections the indexed plan
	// counted without an entry (past MaxTraceNodes match rejections).
	notListed map[string]int
}

// MaxTraceNodes bounds the node entries a stored trace lists: the chosen
// node, the ranked candidates, then rejected nodes in the order seen.
const MaxTraceNodes = 100

// Node verdicts in a trace.
const (
	VerdictRejected  = "rejected"
	VerdictCandidate = "candidate"
	VerdictChosen    = "chosen"
)

// NodeTrace is one node's part in a decision.
type NodeTrace struct {
	Node       string             `json:"node"`
	Verdict    string             `json:"verdict"`
	Stage      string             `json:"stage,omitempty"`  // match, admit or reserve, when rejected
	Filter     string             `json:"filter,omitempty"` // the match filter that rejected it
	Reason     string             `json:"reason,omitempty"`
	Rank       int                `json:"rank,omitempty"` // 1 = best, among candidates
	Score      float64            `json:"score,omitempty"`
	Components map[string]float64 `json:"components,omitempty"`
	// EarliestStart is when the node could take the session, on the
	// queueing path.
	EarliestStart *time.Time `json:"earliest_start,omitempty"`
}

// node returns the trace entry of name, adding one if needed.
func (t *Trace) node(name string) *NodeTrace {
	if i, ok := t.idx[name]; ok {
		return &t.Nodes[i]
	}
	if t.idx == nil {
		t.idx = map[string]int{}
	}
	t.idx[name] = len(t.Nodes)
	t.Nodes = append(t.Nodes, NodeTrace{Node: name})
	return &t.Nodes[len(t.Nodes)-1]
}

// encode is the trace as stored: counts by stage, and at most
// MaxTraceNodes entries, chosen and candidates first.
func (t *Trace) encode() []byte {
	out := *t
	out.idx, out.notListed = nil, nil
	out.RejectedBy = map[string]int{}
	for k, n := range t.notListed {
		out.RejectedBy[k] += n
		out.Omitted += n
	}
	var chosen, cands, rejected []NodeTrace
	for _, n := range t.Nodes {
		switch n.Verdict {
		case VerdictChosen:
			chosen = append(chosen, n)
		case VerdictCandidate:
			cands = append(cands, n)
		default:
			key := n.Stage
			if n.Filter != "" {
				key += "/" + n.Filter
			}
			out.RejectedBy[key]++
			rejected = append(rejected, n)
		}
	}
	slices.SortStableFunc(cands, func(a, b NodeTrace) int { return cmp.Compare(a.Rank, b.Rank) })
	all := append(append(chosen, cands...), rejected...)
	if len(all) > MaxTraceNodes {
		out.Omitted, all = out.Omitted+len(all)-MaxTraceNodes, all[:MaxTraceNodes]
	}
	out.Nodes = all
	return mustJSON(out)
}

// encodeChosen is encode as it will be once node is chosen and the
// session scheduled, leaving t as it is.
func (t *Trace) encodeChosen(node string) []byte {
	n := t.node(node)
	verdict, outcome, chosen := n.Verdict, t.Outcome, t.Node
	n.Verdict, t.Outcome, t.Node = VerdictChosen, string(proto.StateScheduled), node
	out := t.encode()
	n.Verdict, t.Outcome, t.Node = verdict, outcome, chosen
	return out
}

// reject records that the stage rejected node.
func (t *Trace) reject(node, stage, filter, reason string) {
	n := t.node(node)
	n.Verdict, n.Stage, n.Filter, n.Reason = VerdictRejected, stage, filter, reason
}

// unlisted counts a rejection by stage and filter without a node entry.
func (t *Trace) unlisted(stage, filter string) {
	if t.notListed == nil {
		t.notListed = map[string]int{}
	}
	key := stage
	if filter != "" {
		key += "/" + filter
	}
	t.notListed[key]++
}
