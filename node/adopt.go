package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/igrid/igrid/accounts"
	"github.com/igrid/igrid/internal/proto"
)

// sessionState is DataDir/sessions/<id>.json: what the agent needs to take
// a running session back after a restart.
type sessionState struct {
	Start   proto.StartSession `json:"start"`
	Account string             `json:"account"`
}

func (a *Agent) sessionsDir() string { return filepath.Join(a.cfg.DataDir, "sessions") }

func (a *Agent) sessionFile(id string) string {
	return filepath.Join(a.sessionsDir(), id+".json")
}

// persistSession records a started session (after its lease is on disk).
func (a *Agent) persistSession(st *proto.StartSession, account string) error {
	if strings.ContainsAny(st.SessionID, "/\x00") || strings.HasPrefix(st.SessionID, ".") {
		return reason(ErrBadCommand, fmt.Sprintf("session id %q cannot name a state file", st.SessionID))
	}
	if err := os.MkdirAll(a.sessionsDir(), 0o700); err != nil {
		return err
	}
	b, err := json.Marshal(sessionState{Start: *st, Account: account})
	if err != nil {
		return err
	}
	tmp := a.sessionFile(st.SessionID) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, a.sessionFile(st.SessionID))
}

func (a *Agent) loadSession(id string) (*sessionState, error) {
	b, err := os.ReadFile(a.sessionFile(id))
	if err != nil {
		return nil, err
	}
	var st sessionState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("session state %s: %w", id, err)
	}
	return &st, nil
}

func (a *Agent) forgetSession(id string) {
	a.forgetRestoredVars(id)
	if err := os.Remove(a.sessionFile(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		a.log.Warn("forget session state", "session", id, "err", err)
	}
}

// adopt takes back, after a restart, the sessions a previous run of the
// agent left: a bound lease with its state file and a window still open
// becomes a running session again (logins, end warning, end on time); any
// other lease of a session (window over, machine rebooted, no state, a
// release cut short) is finished: files saved, account cleaned and freed.
func (a *Agent) adopt() error {
	leases, err := a.accounts.Recover()
	if err != nil {
		return err
	}
	var errs []error
	now := time.Now()
	for _, l := range leases {
		if l.State != accounts.LeaseBound && l.State != accounts.LeaseReleasing {
			continue
		}
		if l.State == accounts.LeaseBound && !l.Stale && a.readopt(l, now) {
			continue
		}
		home := ""
		if acct, ok := a.accounts.Lookup(l.Session); ok {
			home = acct.Home
		}
		a.log.Warn("finishing a session left by the previous agent", "session", l.Session, "account", l.Account, "state", l.State, "stale", l.Stale)
		if l.State == accounts.LeaseBound && home != "" && l.User != "" {
			errs = append(errs, a.finishSession(l.Session, l.User, home))
		} else {
			errs = append(errs, a.accounts.Release(l.Session))
			a.forgetSession(l.Session)
		}
	}
	return errors.Join(errs...)
}

// readopt rebuilds the session of lease l from its state file, if its
// window is still open. It reports whether it did.
func (a *Agent) readopt(l accounts.Lease, now time.Time) bool {
	st, err := a.loadSession(l.Session)
	if err != nil || st.Account != l.Account {
		return false
	}
	class, keys, err := a.checkStart(&st.Start, now)
	if err != nil {
		return false
	}
	acct, ok := a.accounts.Lookup(l.Session)
	if !ok {
		return false
	}
	s := a.newSession(&st.Start, class, keys, acct)
	a.addSession(s)
	a.log.Info("session re-adopted after an agent restart", "session", l.Session, "user", st.Start.User,
		"account", acct.Name, "end", st.Start.End.UTC().Format(time.RFC3339))
	return true
}

// rewatchAdopted gives the sessions re-adopted after a restart their
// session cgroup (the existing one, which the killed agent left) and GMMA
// agents again, so they are policed and their cgroup goes at their end.
// The account's processes are moved back in by GMMA's adoption sweep.
func (a *Agent) rewatchAdopted() {
	for _, id := range a.sessionIDs() {
		s := a.getSession(id)
		st, err := a.loadSession(id)
		if s == nil || err != nil {
			continue
		}
		class, ok := a.policy().Class(s.binding.Class)
		if !ok {
			continue
		}
		b := s.binding
		if err := a.gmma.sessionStarted(id, b.UID, b.GID, b.Home, &st.Start, class); err != nil {
			a.log.Error("re-adopted session: cgroup and agents", "session", id, "err", err)
		}
	}
}
