package confine

import (
	"errors"
	"os/exec"
)

// ErrRetired means the ruleset was closed: start on a fresh one.
var ErrRetired = errors.New("confine: ruleset closed")

// StartShared starts cmd with the session's ruleset, compiled once and kept
// open across programs (a policy reload closes it: ErrRetired). Each
// program still gets a thread of its own that exits after the fork (Start):
// a long-lived restricted thread would share the programs' domain and so be
// theirs to signal, and with it the whole of GISH.
func (r *Ruleset) StartShared(cmd *exec.Cmd) (func() error, error) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.fd < 0 && !r.off {
		return nil, ErrRetired
	}
	return r.Start(cmd)
}
