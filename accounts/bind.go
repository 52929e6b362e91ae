package accounts

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// Bind leases a free account of class to sessionID for an unnamed user. See
// BindUser.
func (m *Manager) Bind(class, sessionID string) (*Account, error) {
	return m.BindUser(class, sessionID, "")
}

// BindUser leases an account of class to sessionID for grid user user. It
// prefers the account reserved for user (Account.Warm is then true: the
// home still holds the user's files), else the lowest-numbered free one,
// else one whose reservation has expired. Binding a session that is already
// bound returns its account. The lease is on disk (see README.md): it
// survives the agent and no two processes can bind one account at once.
// Bind writes no password database.
func (m *Manager) BindUser(class, sessionID, user string) (*Account, error) {
	if err := checkSessionID(sessionID); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if a, ok, err := m.lookupDisk(sessionID); err != nil || ok {
		if ok && a.Class != class {
			return nil, fmt.Errorf("session %s is already bound to account %s of class %s", sessionID, a.Name, a.Class)
		}
		return a, err
	}
	p, ok := m.pools[class]
	if !ok {
		return nil, reason(ErrNoPool, fmt.Sprintf("class %s has no account pool on this node", class))
	}
	rec := &Lease{Class: class, Session: sessionID, User: user, Since: time.Now()}
	if user != "" {
		if a, err := m.claimReserved(p, rec, reservedKey(user, class)); a != nil || err != nil {
			return m.bound(a, rec, err)
		}
	}
	for _, s := range p.slots {
		if s.retiring {
			continue
		}
		a, err := m.claimFree(s, rec)
		if a != nil || err != nil {
			return m.bound(a, rec, err)
		}
	}
	if a, err := m.claimExpired(p, rec); a != nil || err != nil {
		return m.bound(a, rec, err)
	}
	return nil, m.exhausted(p)
}

// bound finishes a successful bind: history and log.
func (m *Manager) bound(a *Account, rec *Lease, err error) (*Account, error) {
	if err != nil {
		return nil, err
	}
	if rec.User != "" {
		m.noteSession(rec.User, rec.Since)
	}
	m.log.Info("account bound", "session", rec.Session, "account", a.Name, "class", a.Class, "user", rec.User, "warm", a.Warm)
	return a, nil
}

func (m *Manager) exhausted(p *pool) error {
	var quarantined, retiring int
	for _, s := range p.slots {
		if fileExists(m.leases.path(dirQuarantine, s.acct.Name)) {
			quarantined++
		}
		if s.retiring {
			retiring++
		}
	}
	msg := fmt.Sprintf("all %d accounts of class %s are in use", len(p.slots)-retiring, p.class)
	if quarantined > 0 {
		msg += fmt.Sprintf(" (%d quarantined after a failed cleanup)", quarantined)
	}
	return reason(ErrPoolExhausted, msg)
}

// claimFree tries to take the lease of slot s: link a fresh record to
// leases/<account>, then index it under sessions/<session>.
func (m *Manager) claimFree(s *slot, rec *Lease) (*Account, error) {
	rec.Account = s.acct.Name
	tmp, err := m.leases.writeTmp(rec)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	lease := m.leases.path(dirLeases, s.acct.Name)
	ok, err := linkOwned(tmp, lease)
	if err != nil || !ok {
		return nil, err
	}
	return m.index(s, rec, tmp, lease, false)
}

// index publishes the second name sessions/<session> of a lease that tmp
// and lease already name. If another process bound the same session first,
// the account lease is given back and that binding returned.
func (m *Manager) index(s *slot, rec *Lease, tmp, lease string, warm bool) (*Account, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(tmp, &st); err != nil {
		return nil, err
	}
	ok, err := linkOwned(tmp, m.leases.path(dirSessions, rec.Session))
	if err != nil || !ok {
		_ = removeIfSame(lease, &st)
		if err != nil {
			return nil, err
		}
		a, found, err := m.lookupDisk(rec.Session)
		if !found && err == nil {
			err = fmt.Errorf("session %s: lost a race to bind it and found no binding", rec.Session)
		}
		return a, err
	}
	a := s.acct
	a.Warm = warm
	return &a, nil
}

// claimReserved takes the reservation named reserved/<key> for rec's
// session: the reservation's second name is renamed away (one process wins),
// the account lease is replaced by the session's, then indexed.
func (m *Manager) claimReserved(p *pool, rec *Lease, key string) (*Account, error) {
	name := m.leases.path(dirReserved, key)
	res, st, err := readLease(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s, ok := m.byName[res.Account]
	if !ok || s.acct.Class != p.class || s.retiring {
		return nil, nil
	}
	claim := m.leases.path(dirTmp, "claim-"+key)
	if err := os.Rename(name, claim); err != nil {
		return nil, nil // another process claimed it first
	}
	defer os.Remove(claim)
	lease := m.leases.path(dirLeases, res.Account)
	if !sameFile(claim, st) || !sameFile(lease, st) {
		return nil, nil // not the reservation we read: leave it
	}
	rec.Account = res.Account
	tmp, err := m.leases.writeTmp(rec)
	if err != nil {
		_ = os.Rename(claim, name)
		return nil, err
	}
	defer os.Remove(tmp)
	if err := os.Rename(tmp, lease); err != nil {
		_ = os.Rename(claim, name)
		return nil, fmt.Errorf("replace reservation of %s: %w", res.Account, err)
	}
	if err := os.Link(lease, tmp); err != nil {
		return nil, err
	}
	return m.index(s, rec, tmp, lease, res.User == rec.User)
}

// claimExpired takes an account whose reservation has run out.
func (m *Manager) claimExpired(p *pool, rec *Lease) (*Account, error) {
	now := time.Now()
	for _, s := range p.slots {
		if s.retiring {
			continue
		}
		l, _, err := readLease(m.leases.path(dirLeases, s.acct.Name))
		if err != nil || l.Session != "" || l.User == "" || now.Before(l.Until) {
			continue
		}
		if a, err := m.claimReserved(p, rec, reservedKey(l.User, l.Class)); a != nil || err != nil {
			return a, err
		}
	}
	return nil, nil
}

// lookupDisk reads the binding of sessionID from sessions/<session>.
func (m *Manager) lookupDisk(sessionID string) (*Account, bool, error) {
	l, _, err := readLease(m.leases.path(dirSessions, sessionID))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	s, ok := m.byName[l.Account]
	if !ok {
		return nil, false, fmt.Errorf("session %s is bound to account %s, which no pool of this manager holds", sessionID, l.Account)
	}
	a := s.acct
	return &a, true, nil
}
