package proto

import "time"

// Command operations sent by the DRM on igrid.node.<node>.cmd.
const (
	OpStart = "start" // bind an account and open the session
	OpEnd   = "end"   // end the session and clean its account (idempotent)
)

// Command is one DRM → node request. The reply is a CommandReply.
type Command struct {
	Op    string        `json:"op"`
	Start *StartSession `json:"start,omitempty"`
	End   *EndSession   `json:"end,omitempty"`
}

// StartSession asks a node to open a global session.
type StartSession struct {
	SessionID string    `json:"session_id"`
	User      string    `json:"user"`
	Class     string    `json:"class"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	SLA       SLA       `json:"sla"`
	// AuthorizedKeys are the user's SSH public keys in authorized_keys format.
	AuthorizedKeys []string `json:"authorized_keys"`
	Desktop        bool     `json:"desktop"`
}

// EndSession asks a node to end a session.
type EndSession struct {
	SessionID string `json:"session_id"`
	Reason    string `json:"reason"`
}

// CommandReply answers a Command. Error is empty on success.
type CommandReply struct {
	Error   string  `json:"error,omitempty"`
	Account string  `json:"account,omitempty"`
	Connect Connect `json:"connect"`
}
