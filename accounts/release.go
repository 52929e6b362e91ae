package accounts

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// ReleaseOptions tunes one Release.
type ReleaseOptions struct {
	// Cgroups are the session's cgroup directories (v1 or v2). Their
	// processes are frozen and killed first, before the /proc sweep by uid.
	Cgroups []string
}

// release lets concurrent Release calls for one session in this process
// wait for the one that cleans.
type release struct {
	done chan struct{}
	err  error
}

// Release cleans the account bound to sessionID and frees it (or reserves
// it for a frequent user). See ReleaseWith.
func (m *Manager) Release(sessionID string) error {
	return m.ReleaseWith(sessionID, ReleaseOptions{})
}

// ReleaseWith cleans the account bound to sessionID: every process of its
// uid is killed (the cgroups first), its SysV IPC objects, POSIX message
// queues, cron and at jobs and files in /tmp, /var/tmp and /dev/shm are
// removed, and the home is emptied — unless the user is frequent and the
// class has a hold time, in which case the home is kept and the account
// reserved for them. Cleaning is retried until a check finds nothing left;
// an account that cannot be cleaned is quarantined (never handed out) and
// ErrCleanup returned. Releasing an unknown or released session is a no-op;
// a concurrent Release of the same session in this process waits for the
// first, one in another process returns at once while the first cleans.
// A Release interrupted by the death of its process is resumed by the next.
func (m *Manager) ReleaseWith(sessionID string, opt ReleaseOptions) error {
	if err := checkSessionID(sessionID); err != nil {
		return err
	}
	m.mu.Lock()
	if r, ok := m.releasing[sessionID]; ok {
		m.mu.Unlock()
		<-r.done
		return r.err
	}
	r := &release{done: make(chan struct{})}
	m.releasing[sessionID] = r
	m.mu.Unlock()

	r.err = m.release(sessionID, opt)

	m.mu.Lock()
	delete(m.releasing, sessionID)
	m.mu.Unlock()
	close(r.done)
	return r.err
}

// release takes the session's lease into releasing/ under an flock, cleans,
// and frees, reserves or quarantines the account.
func (m *Manager) release(sessionID string, opt ReleaseOptions) error {
	f, l, st, err := m.takeRelease(sessionID)
	if err != nil || f == nil {
		return err
	}
	defer f.Close() // drops the flock
	m.mu.Lock()
	s, ok := m.byName[l.Account]
	m.mu.Unlock()
	if !ok {
		return fmt.Errorf("session %s: account %s is in no pool of this manager", sessionID, l.Account)
	}
	hold := m.holdFor(l)
	err = m.cleanUntilDone(s.acct, opt, hold > 0)
	reserved := err == nil && hold > 0 && m.reserve(l, hold, st)
	if err == nil && hold > 0 && !reserved {
		err = m.emptyHome(s.acct) // no reservation after all: the home goes too
	}
	releasing := m.leases.path(dirReleasing, sessionID)
	lease := m.leases.path(dirLeases, l.Account)
	if err != nil {
		err = fmt.Errorf("%w: account %s quarantined: %w", ErrCleanup, l.Account, err)
		if qerr := m.leases.quarantine(l, err); qerr != nil {
			err = errors.Join(err, qerr)
		}
		_ = removeIfSame(releasing, st)
		m.log.Error("account quarantined", "session", sessionID, "account", l.Account, "err", err)
		return err
	}
	if reserved {
		_ = removeIfSame(releasing, st)
		m.log.Info("account released and reserved", "session", sessionID, "account", l.Account, "user", l.User, "hold", hold)
		return nil
	}
	if err := errors.Join(removeIfSame(lease, st), removeIfSame(releasing, st)); err != nil {
		return fmt.Errorf("free account %s: %w", l.Account, err)
	}
	m.log.Info("account released", "session", sessionID, "account", l.Account)
	return nil
}

// takeRelease moves sessions/<id> to releasing/<id> holding an flock on the
// lease inode, or resumes a releasing/<id> whose holder died. It returns a
// nil file when there is nothing to do (unknown session, or another live
// process is releasing it).
func (m *Manager) takeRelease(id string) (*os.File, *Lease, *syscall.Stat_t, error) {
	bound, releasing := m.leases.path(dirSessions, id), m.leases.path(dirReleasing, id)
	for _, from := range []string{bound, releasing} {
		f, err := os.Open(from)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, nil, err
		}
		locked, err := tryLock(f)
		if err != nil || !locked {
			f.Close()
			return nil, nil, nil, err // another process holds it
		}
		l, st, err := readLeaseFile(f)
		if err != nil {
			f.Close()
			return nil, nil, nil, err
		}
		if !sameFile(from, st) {
			f.Close()
			continue // released meanwhile
		}
		if from == bound {
			if err := os.Rename(bound, releasing); err != nil {
				f.Close()
				return nil, nil, nil, fmt.Errorf("take lease of session %s: %w", id, err)
			}
		}
		return f, l, st, nil
	}
	return nil, nil, nil, nil
}

// cleanUntilDone runs clean until verify finds nothing of the account left,
// or KillTimeout passes.
func (m *Manager) cleanUntilDone(a Account, opt ReleaseOptions, keepHome bool) error {
	deadline := time.Now().Add(KillTimeout)
	for wait := 5 * time.Millisecond; ; wait *= 2 {
		found, err := m.cleanCount(a, opt, keepHome)
		if err == nil {
			err = m.verifyClean(a, keepHome, found)
		}
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		m.log.Warn("account not clean yet, retrying", "account", a.Name, "err", err)
		time.Sleep(min(wait, 500*time.Millisecond))
	}
}

// StopProcesses kills every process of the account bound to sessionID
// (its cgroups first, then the /proc sweep by uid) without releasing it,
// so the node can save the home to GSS with nothing writing to it. In
// unprivileged mode only the cgroups are killed.
func (m *Manager) StopProcesses(sessionID string, opt ReleaseOptions) error {
	a, ok := m.Lookup(sessionID)
	if !ok {
		return nil
	}
	var errs []error
	for _, cg := range opt.Cgroups {
		errs = append(errs, killCgroup(cg, KillTimeout))
	}
	if m.priv {
		errs = append(errs, m.killStrays(a.UID, KillTimeout))
	}
	return errors.Join(errs...)
}
