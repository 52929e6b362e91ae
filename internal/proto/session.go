package proto

import "time"

// State is a session's lifecycle state (DESIGN.md "Session lifecycle").
type State string

// The session states.
const (
	StateRequested State = "requested"
	StateQueued    State = "queued"
	StateDenied    State = "denied"
	StateScheduled State = "scheduled"
	StateStarting  State = "starting"
	StateRunning   State = "running"
	StateEnding    State = "ending"
	StateEnded     State = "ended"
	StateFailed    State = "failed"
	StateLost      State = "lost"
)

var transitions = map[State][]State{
	StateRequested: {StateQueued, StateDenied, StateScheduled},
	StateQueued:    {StateScheduled, StateDenied, StateEnded},
	StateScheduled: {StateStarting, StateEnded, StateFailed},
	StateStarting:  {StateRunning, StateFailed, StateEnding, StateLost},
	StateRunning:   {StateEnding, StateEnded, StateFailed, StateLost},
	StateEnding:    {StateEnded, StateFailed, StateLost},
}

// CanTransition reports whether the state machine allows from → to.
func CanTransition(from, to State) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Terminal reports whether no transition leaves s.
func (s State) Terminal() bool { return len(transitions[s]) == 0 }

// Holds reports whether a session in state s holds capacity on its node.
func (s State) Holds() bool {
	return s == StateScheduled || s == StateStarting || s == StateRunning || s == StateEnding
}

// SSHConnect tells a user where to point ssh.
type SSHConnect struct {
	Host string `json:"host"`
	Port int    `json:"port"`
	User string `json:"user"`
}

// Connect holds a running session's connection details.
type Connect struct {
	SSH    *SSHConnect `json:"ssh,omitempty"`
	VNCURL string      `json:"vnc_url"`
}

// Usage is a session's latest measured resource use.
type Usage struct {
	CPUPercent    float64 `json:"cpu_percent"`
	Processes     int     `json:"processes"`
	DiskMB        int     `json:"disk_mb"`
	BandwidthKbps int     `json:"bandwidth_kbps"`
}

// Session is the API's session object.
type Session struct {
	ID       string    `json:"id"`
	User     string    `json:"user"`
	Class    string    `json:"class"`
	State    State     `json:"state"`
	Reason   string    `json:"reason"`
	Node     string    `json:"node"`
	Account  string    `json:"account"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Template Template  `json:"template"`
	Connect  Connect   `json:"connect"`
	Usage    Usage     `json:"usage"`
}

// SLA is what a node enforces for a global session.
type SLA struct {
	UsageTime     Duration `json:"usage_time"`
	MaxProcesses  int      `json:"max_processes"`
	DiskMB        int      `json:"disk_mb"`
	MemoryMB      int      `json:"memory_mb"`
	CPUPercent    int      `json:"cpu_percent"`
	BandwidthKbps int      `json:"bandwidth_kbps"`
}
