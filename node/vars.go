package node

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/igrid/igrid/gish"
)

// varsFile is DataDir/sessions/<id>.vars: the user's settings restored
// from the GSS at the session's start (the manifest's Vars), kept on disk
// so a session re-adopted after a restart gets them too, and saved again
// at the end if GISH never wrote newer ones.
func (a *Agent) varsFile(id string) string {
	return filepath.Join(a.sessionsDir(), id+".vars")
}

// keepRestoredVars records the settings restored for session id.
func (a *Agent) keepRestoredVars(id string, vars map[string]string) error {
	if len(vars) == 0 {
		return nil
	}
	if err := os.MkdirAll(a.sessionsDir(), 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(vars)
	if err != nil {
		return err
	}
	tmp := a.varsFile(id) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, a.varsFile(id))
}

// restoredVars are the settings restored for session id (nil: none).
func (a *Agent) restoredVars(id string) map[string]string {
	b, err := os.ReadFile(a.varsFile(id))
	if err != nil {
		return nil
	}
	var vars map[string]string
	if json.Unmarshal(b, &vars) != nil {
		return nil
	}
	return vars
}

func (a *Agent) forgetRestoredVars(id string) {
	if err := os.Remove(a.varsFile(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		a.log.Warn("forget restored settings", "session", id, "err", err)
	}
}

// sessionVars are the settings to save at the end of session id: what
// GISH last kept in the home's gish.EnvFile, else those restored at its
// start; filtered by the class's environment allow-list (the file is the
// user's: anything it holds beyond the list is dropped and logged).
func (a *Agent) sessionVars(id, class, home string) map[string]string {
	vars, err := gish.ReadVars(home)
	if err != nil {
		a.log.Warn("user settings not kept", "session", id, "err", err)
	}
	if vars == nil {
		vars = a.restoredVars(id)
	}
	if len(vars) == 0 {
		return nil
	}
	p := &gish.Policy{}
	if c, ok := a.policy().Class(class); ok {
		p.Env = c.Account.Env
	}
	kept, dropped := gish.FilterVars(p, vars)
	if len(dropped) > 0 {
		a.log.Warn("user settings dropped: not in the class's environment allow-list, or malformed",
			"session", id, "class", class, "names", dropped)
	}
	return kept
}
