package node

import (
	"errors"
	"fmt"
	"os"

	"github.com/igrid/igrid/gish"
)

// UbAM's agent side: GISH sends a user binary it opened (as the account)
// and its signature over the SAC socket; the agent copies it into the
// session's root-owned stage dir (DataDir/ubam/<session>), verifies the
// copy with the class's trusted signers and GISH executes that copy. The
// stage dir goes when the session ends.

// errNoStageSession is a stage request for a session the agent does not run.
var errNoStageSession = errors.New("the session is not running on this node")

// stageUserBinary is the SAC server's Stage function.
func (a *Agent) stageUserBinary(session, name string, f *os.File, sig []byte) (string, error) {
	if !gish.ValidStageSession(session) {
		return "", fmt.Errorf("session id %q cannot name a stage directory", session)
	}
	s := a.getSession(session)
	if s == nil {
		return "", errNoStageSession
	}
	c, ok := a.policy().Class(s.binding.Class)
	if !ok {
		return "", fmt.Errorf("class %s is no longer in the policy set", s.binding.Class)
	}
	trusted := gishPolicy(c, a.executables(s.binding.Class), s.binding.Home).TrustedSigners
	path, err := gish.StageUserBinary(gish.StageDir(a.cfg.DataDir, session), f, sig, trusted)
	a.log.Info("ubam stage", "session", session, "binary", name, "path", path, "err", err)
	return path, err
}

// removeStage deletes the session's staged user binaries.
func (a *Agent) removeStage(session string) {
	if !gish.ValidStageSession(session) {
		return
	}
	if err := os.RemoveAll(gish.StageDir(a.cfg.DataDir, session)); err != nil {
		a.log.Warn("ubam stage dir", "session", session, "err", err)
	}
}
