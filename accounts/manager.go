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
	// StateDir holds the lease map (see README.md); default
	// HomeRoot/.igrid-leases. Agents sharing accounts must share it.
	StateDir string
	// SudoersDir receives the sudoers drop-ins of superuser pools; default
	// /etc/sudoers.d.
	SudoersDir string
	// NoProcWatch makes every release sweep /proc for the account's
	// processes instead of asking the proc connector watcher.
	NoProcWatch bool
	// NoScratchIndex makes every release walk the scratch directories
	// instead of asking the inotify index of them.
	NoScratchIndex bool
	Logger         *slog.Logger
}

// Account is one dynamic account as handed to a session.
type Account struct {
	Name, Class, Home string
	UID, GID          uint32
	// Warm: the account was reserved for this user and its home still holds
	// their files from their previous session here; PrepareHome keeps them.
	Warm bool
}

// slot is one account of a pool. Its lease state lives on disk.
type slot struct {
	acct     Account
	retiring bool // beyond the pool's size after a Reconcile: never handed out
}

type pool struct {
	class, prefix string
	kind          Kind
	slots         []*slot // in number order: Bind hands out the lowest free
}

// Manager keeps the pools of dynamic accounts of one node. Leases are files
// under Config.StateDir (see README.md, "Lease protocol"), so they survive
// the agent and are safe between processes. It is safe for concurrent use.
//
// Lock order: poolMu (account creation and removal) before mu.
type Manager struct {
	cfg     Config
	log     *slog.Logger
	priv    bool
	leases  *leaseStore
	initErr error

	poolMu  sync.Mutex
	created []Account // accounts this manager made or adopted, in order

	mu            sync.Mutex
	pools         map[string]*pool // by class
	byName        map[string]*slot
	releasing     map[string]*release // by session id, while this process releases it
	reservePolicy map[string]ReservePolicy

	// procs is the proc connector watcher (privileged only); nil: every
	// release sweeps /proc.
	procs *procWatch
	// scratch is the inotify index of the scratch directories (privileged
	// only); nil: every release walks them.
	scratch *scratchIndex
}

// NewManager returns a manager with no pools yet. The lease store is opened
// (created) at Config.StateDir; if that fails, every later call says why.
func NewManager(cfg Config) *Manager {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if abs, err := filepath.Abs(cfg.HomeRoot); err == nil {
		cfg.HomeRoot = abs
	}
	if cfg.StateDir == "" {
		cfg.StateDir = filepath.Join(cfg.HomeRoot, ".igrid-leases")
	}
	if cfg.SudoersDir == "" {
		cfg.SudoersDir = "/etc/sudoers.d"
	}
	m := &Manager{
		cfg: cfg, log: cfg.Logger.With("component", "accounts"),
		priv:  !cfg.Unprivileged && os.Geteuid() == 0,
		pools: map[string]*pool{}, byName: map[string]*slot{},
		releasing: map[string]*release{}, reservePolicy: map[string]ReservePolicy{},
	}
	if err := os.MkdirAll(cfg.HomeRoot, 0o711); err != nil {
		m.initErr = fmt.Errorf("home root: %w", err)
	} else {
		m.leases, m.initErr = openLeaseStore(cfg.StateDir)
	}
	if m.priv && !cfg.NoProcWatch {
		var err error
		if m.procs, err = sharedProcWatch(); err != nil {
			m.log.Warn("no proc connector: every release sweeps /proc", "err", err)
		}
	}
	if m.priv && !cfg.NoScratchIndex {
		var err error
		if m.scratch, err = sharedScratchIndex(); err != nil {
			m.log.Warn("no scratch index: every release walks /tmp, /var/tmp and /dev/shm", "err", err)
		}
	}
	if !m.priv {
		m.log.Warn("unprivileged mode: dynamic accounts map to the invoking user, each with its own home; no useradd, no kill by uid",
			"uid", os.Getuid(), "home_root", cfg.HomeRoot)
	}
	return m
}

// Privileged reports whether the manager makes real Unix accounts.
func (m *Manager) Privileged() bool { return m.priv }

// Lookup returns the account bound to sessionID, until Release has begun
// to free it. It reads the lease on disk, so it also sees bindings made by
// an earlier run of the agent (after EnsurePool) or by another process.
func (m *Manager) Lookup(sessionID string) (*Account, bool) {
	if m.initErr != nil || checkSessionID(sessionID) != nil {
		return nil, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok, err := m.lookupDisk(sessionID)
	if err != nil {
		m.log.Warn("lookup", "session", sessionID, "err", err)
	}
	return a, ok
}

// Recover lists the leases on disk of the accounts of this manager's pools
// (call it after EnsurePool at agent start): bound sessions to re-adopt or
// release, releases a dead agent left half done (call Release to finish
// them), reservations and quarantined accounts. A lease marked Stale
// predates the last boot: its session cannot be running. Leases a dead
// agent left between two steps of a Bind (published under no session) are
// cleaned and freed here.
func (m *Manager) Recover() ([]Lease, error) {
	if m.initErr != nil {
		return nil, m.initErr
	}
	leases, sts, err := m.leases.all()
	if err != nil {
		return nil, err
	}
	var out []Lease
	var errs []error
	for i, l := range leases {
		m.mu.Lock()
		s, ours := m.byName[l.Account]
		m.mu.Unlock()
		if !ours {
			continue
		}
		if l.State == "" {
			m.log.Warn("freeing an orphan lease left by a dead agent", "account", l.Account, "session", l.Session)
			if err := m.cleanUntilDone(s.acct, ReleaseOptions{}, false); err != nil {
				errs = append(errs, m.leases.quarantine(l, err))
				continue
			}
			errs = append(errs, removeIfSame(m.leases.path(dirLeases, l.Account), sts[i]))
			continue
		}
		out = append(out, *l)
	}
	return out, joinErrs(errs)
}

// Quarantined lists the accounts that failed cleanup, with the reason.
func (m *Manager) Quarantined() []Quarantine {
	if m.initErr != nil {
		return nil
	}
	q, _ := m.leases.quarantined()
	return q
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
