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
}

// Authorizer is the node agent's view of its sessions.
type Authorizer interface {
	// Lookup returns the binding of the session grid user may enter at now,
	// or an error whose text is the human reason for refusal.
	Lookup(user string, now time.Time) (*Binding, error)
}
