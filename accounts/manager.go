package accounts

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Config configures a Manager.
type Config struct {
	// HomeRoot is the directory under which every account's home lives
	// (HomeRoot/<name>). It is created (mode 0711) if missing.
	HomeRoot string
	// Tag is inserted between a pool's prefix and the account number so that
	// several node agents on one machine (dev) get distinct account names.
	Tag string
	// Unprivileged maps every account to the invoking user instead of real
	// Unix accounts. It is forced when the process is not root.
	Unprivileged bool
	Logger       *slog.Logger
}

// Account is one dynamic account as handed to a session.
type Account struct {
	Name, Class, Home string
	UID, GID          uint32
}

// slot is one account of a pool and its lease state.
type slot struct {
	acct        Account
	session     string   // bound session id; "" when free
	releasing   *release // non-nil while Release cleans the account
	quarantined bool     // cleanup failed once; never handed out again
}

// release lets concurrent Release calls for one session wait for the one
// that cleans.
type release struct {
	done chan struct{}
	err  error
}

type pool struct {
	class, prefix string
	slots         []*slot // in number order: Bind hands out the lowest free
}

// Manager keeps the pools of dynamic accounts of one node. Leases are in
// memory in this cut (see README.md). It is safe for concurrent use.
//
// Lock order: poolMu (account creation and removal) before mu (leases).
type Manager struct {
	cfg  Config
	log  *slog.Logger
	priv bool

	poolMu  sync.Mutex
	created []Account // accounts this manager made or adopted, in order

	mu       sync.Mutex
	pools    map[string]*pool // by class
	byName   map[string]*slot
	sessions map[string]*slot // by bound session id
}

// NewManager returns a manager with no pools yet.
func NewManager(cfg Config) *Manager {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if abs, err := filepath.Abs(cfg.HomeRoot); err == nil {
		cfg.HomeRoot = abs
	}
	m := &Manager{
		cfg: cfg, log: cfg.Logger.With("component", "accounts"),
		priv:  !cfg.Unprivileged && os.Geteuid() == 0,
		pools: map[string]*pool{}, byName: map[string]*slot{}, sessions: map[string]*slot{},
	}
	if !m.priv {
		m.log.Warn("unprivileged mode: dynamic accounts map to the invoking user, each with its own home; no useradd, no kill by uid",
			"uid", os.Getuid(), "home_root", cfg.HomeRoot)
	}
	return m
}

// Privileged reports whether the manager makes real Unix accounts.
func (m *Manager) Privileged() bool { return m.priv }

// Bind leases a free account of class to sessionID: the lowest-numbered free
// one, so a freed account comes back first. Binding a session that is
// already bound returns its account.
func (m *Manager) Bind(class, sessionID string) (*Account, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.sessions[sessionID]; ok {
		if s.acct.Class != class {
			return nil, fmt.Errorf("session %s is already bound to account %s of class %s", sessionID, s.acct.Name, s.acct.Class)
		}
		a := s.acct
		return &a, nil
	}
	p, ok := m.pools[class]
	if !ok {
		return nil, reason(ErrNoPool, fmt.Sprintf("class %s has no account pool on this node", class))
	}
	quarantined := 0
	for _, s := range p.slots {
		switch {
		case s.quarantined:
			quarantined++
		case s.session == "":
			s.session = sessionID
			m.sessions[sessionID] = s
			m.log.Info("account bound", "session", sessionID, "account", s.acct.Name, "class", class)
			a := s.acct
			return &a, nil
		}
	}
	msg := fmt.Sprintf("all %d accounts of class %s are in use", len(p.slots), class)
	if quarantined > 0 {
		msg += fmt.Sprintf(" (%d quarantined after a failed cleanup)", quarantined)
	}
	return nil, reason(ErrPoolExhausted, msg)
}

// Lookup returns the account bound to sessionID, until Release has freed it.
func (m *Manager) Lookup(sessionID string) (*Account, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[sessionID]
	if !ok {
		return nil, false
	}
	a := s.acct
	return &a, true
}

// Release cleans the account bound to sessionID and frees it: in privileged
// mode every process of its uid is killed and its files in /tmp, /var/tmp
// and /dev/shm are removed; the home is emptied in both modes. If cleaning
// fails the account is quarantined and the error returned. Releasing an
// unknown or already released session is a no-op; a concurrent Release of
// the same session waits for the first and returns its result.
func (m *Manager) Release(sessionID string) error {
	m.mu.Lock()
	s, ok := m.sessions[sessionID]
	if !ok {
		m.mu.Unlock()
		return nil
	}
	if r := s.releasing; r != nil {
		m.mu.Unlock()
		<-r.done
		return r.err
	}
	r := &release{done: make(chan struct{})}
	s.releasing = r
	acct := s.acct
	m.mu.Unlock()

	err := m.clean(acct)

	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, sessionID)
	s.session, s.releasing = "", nil
	if err != nil {
		s.quarantined = true
		err = fmt.Errorf("%w: account %s quarantined: %w", ErrCleanup, acct.Name, err)
		m.log.Error("account quarantined", "session", sessionID, "account", acct.Name, "err", err)
	} else {
		m.log.Info("account released", "session", sessionID, "account", acct.Name)
	}
	r.err = err
	close(r.done)
	return err
}

// Accounts lists every account of every pool (bound or not), for callers
// that report or clean up.
func (m *Manager) Accounts() []Account {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Account
	for _, s := range m.byName {
		out = append(out, s.acct)
	}
	slices.SortFunc(out, func(a, b Account) int { return strings.Compare(a.Name, b.Name) })
	return out
}
