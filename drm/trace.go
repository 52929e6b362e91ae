package drm

import (
	"time"

	"github.com/igrid/igrid/drm/store"
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
}

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
	for i := range t.Nodes {
		if t.Nodes[i].Node == name {
			return &t.Nodes[i]
		}
	}
	t.Nodes = append(t.Nodes, NodeTrace{Node: name})
	return &t.Nodes[len(t.Nodes)-1]
}

// reject records that the stage rejected node.
func (t *Trace) reject(node, stage, filter, reason string) {
	n := t.node(node)
	n.Verdict, n.Stage, n.Filter, n.Reason = VerdictRejected, stage, filter, reason
}
