package gish

import (
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// Binding is one session a node runs, as the SSH server and GISH see it: who
// may log in, as which dynamic account, when, and what the class may run.
type Binding struct {
	SessionID, User, Account, Class, Node, Home string
	UID, GID                                    uint32
	Start, End                                  time.Time
	// Executables maps each allowed command name to its real absolute path.
	Executables map[string]string
	// MaxProcesses is the session's process limit; 0 means none.
	MaxProcesses int
	// AuthorizedKeys are the public keys the DRM vouched for.
	AuthorizedKeys []gossh.PublicKey
	// Policy is what GISH enforces; nil means DefaultPolicy(Class,
	// Executables, Home). The node maps the class's policy onto it.
	Policy *Policy
	// SACSocket is the node agent's admission-control socket GISH asks
	// before starting an application; empty means no SAM.
	SACSocket string
	// PolicyFile, when set, is a JSON Policy the node rewrites when the
	// class's policy changes; GISH re-reads it before each command line,
	// so a running session follows a reload at its next command.
	PolicyFile string
	// Vars are the user's settings restored from the GSS (ChildConfig.Vars).
	Vars map[string]string
}

// Authorizer is the node agent's view of its sessions.
type Authorizer interface {
	// Lookup returns the binding of the session grid user may enter at now,
	// or an error whose text is the human reason for refusal.
	Lookup(user string, now time.Time) (*Binding, error)
}
