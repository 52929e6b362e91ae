package accounts

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// LeaseState is what a lease on disk currently means.
type LeaseState string

// Lease states, as Recover reports them.
const (
	LeaseBound       LeaseState = "bound"       // a session holds the account
	LeaseReleasing   LeaseState = "releasing"   // a Release was cleaning it (maybe died doing so)
	LeaseReserved    LeaseState = "reserved"    // held for a frequent user between sessions
	LeaseQuarantined LeaseState = "quarantined" // cleanup failed; never handed out
)

// Lease is one account lease as stored on disk (see README.md, "Lease
// protocol"). The record is written once, before the lease is published.
type Lease struct {
	Account string    `json:"account"`
	Class   string    `json:"class"`
	Session string    `json:"session,omitempty"` // "" for a reservation
	User    string    `json:"user,omitempty"`
	Since   time.Time `json:"since"`
	// Until ends a reservation; zero for a session lease.
	Until  time.Time `json:"until,omitzero"`
	BootID string    `json:"boot_id"`
	PID    int       `json:"pid"` // the agent that wrote it

	// State and Stale are computed when the lease is read, never stored.
	State LeaseState `json:"-"`
	// Stale: the lease was written before the machine last booted, so no
	// process of its session can still be running.
	Stale bool `json:"-"`
}

// Lease directories under Config.StateDir.
const (
	dirLeases     = "leases"     // <account>: the lease itself (at most one per account)
	dirSessions   = "sessions"   // <session>: a second name of a bound lease
	dirReleasing  = "releasing"  // <session>: the name while Release cleans
	dirReserved   = "reserved"   // <user>@<class>: a second name of a reservation
	dirQuarantine = "quarantine" // <account>: why it was quarantined
	dirHistory    = "history"    // <user>: one line per session start, unix seconds
	dirTmp        = "tmp"        // records being written
)

// leaseStore is the on-disk lease map of one node. All operations are
// atomic file-system steps (link, rename, unlink), so several processes may
// share one store.
type leaseStore struct {
	dir    string
	bootID string
}

func openLeaseStore(dir string) (*leaseStore, error) {
	for _, d := range []string{dirLeases, dirSessions, dirReleasing, dirReserved, dirQuarantine, dirHistory, dirTmp} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("lease store: %w", err)
		}
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lease store: %w", err)
	}
	return &leaseStore{dir: dir, bootID: bootID()}, nil
}

func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func (ls *leaseStore) path(sub, name string) string { return filepath.Join(ls.dir, sub, name) }

// checkSessionID refuses session ids that cannot be a file name.
func checkSessionID(id string) error {
	if id == "" || len(id) > 200 || id[0] == '.' {
		return reason(ErrBadSession, fmt.Sprintf("session id %q is empty, too long or starts with '.'", id))
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return reason(ErrBadSession, fmt.Sprintf("session id %q may hold only letters, digits, '-', '_' and '.'", id))
		}
	}
	return nil
}

// userKey is a file name for a grid user name.
func userKey(user string) string { return "u-" + url.PathEscape(user) }

func reservedKey(user, class string) string { return userKey(user) + "@" + url.PathEscape(class) }

// writeTmp writes a lease record to a fresh file in tmp/ and returns its path.
func (ls *leaseStore) writeTmp(l *Lease) (string, error) {
	l.BootID, l.PID = ls.bootID, os.Getpid()
	b, err := json.Marshal(l)
	if err != nil {
		return "", err
	}
	r := make([]byte, 8)
	_, _ = rand.Read(r)
	p := ls.path(dirTmp, hex.EncodeToString(r))
	if err := os.WriteFile(p, b, 0o600); err != nil {
		return "", fmt.Errorf("write lease record: %w", err)
	}
	return p, nil
}

// linkOwned links tmp to name and re-checks that the name now is tmp's
// inode with a link count of at least 2. link(2) fails with EEXIST when the
// name is taken; the re-check also covers file systems (NFS) where link can
// report failure after succeeding, or success after failing.
func linkOwned(tmp, name string) (bool, error) {
	lerr := os.Link(tmp, name)
	var a, b syscall.Stat_t
	if err := syscall.Stat(tmp, &a); err != nil {
		return false, fmt.Errorf("re-check lease: %w", err)
	}
	if err := syscall.Lstat(name, &b); err != nil {
		if errors.Is(err, fs.ErrNotExist) && lerr != nil && !errors.Is(lerr, fs.ErrExist) {
			return false, fmt.Errorf("link lease: %w", lerr)
		}
		return false, nil
	}
	if a.Ino == b.Ino && a.Dev == b.Dev && a.Nlink >= 2 {
		return true, nil
	}
	if lerr != nil && !errors.Is(lerr, fs.ErrExist) {
		return false, fmt.Errorf("link lease: %w", lerr)
	}
	return false, nil
}

// sameFile reports whether path names the inode fi.
func sameFile(path string, st *syscall.Stat_t) bool {
	var b syscall.Stat_t
	return syscall.Lstat(path, &b) == nil && b.Ino == st.Ino && b.Dev == st.Dev
}

// removeIfSame unlinks path only when it still names the inode st, so a
// lease someone else published meanwhile is never removed.
func removeIfSame(path string, st *syscall.Stat_t) error {
	if !sameFile(path, st) {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// read parses the lease record at path and returns its inode too.
func readLease(path string) (*Lease, *syscall.Stat_t, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return readLeaseFile(f)
}

func readLeaseFile(f *os.File) (*Lease, *syscall.Stat_t, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return nil, nil, err
	}
	var l Lease
	dec := json.NewDecoder(f)
	if err := dec.Decode(&l); err != nil {
		return nil, nil, fmt.Errorf("lease %s: %w", f.Name(), err)
	}
	return &l, &st, nil
}

// state fills in the computed fields of a lease read from leases/<account>.
func (ls *leaseStore) state(l *Lease, st *syscall.Stat_t) {
	l.Stale = l.BootID != ls.bootID
	switch {
	case fileExists(ls.path(dirQuarantine, l.Account)):
		l.State = LeaseQuarantined
	case l.Session != "" && sameFile(ls.path(dirSessions, l.Session), st):
		l.State = LeaseBound
	case l.Session != "" && sameFile(ls.path(dirReleasing, l.Session), st):
		l.State = LeaseReleasing
	case l.Session == "" && l.User != "" && sameFile(ls.path(dirReserved, reservedKey(l.User, l.Class)), st):
		l.State = LeaseReserved
	default:
		l.State = "" // orphan: the agent died between two steps
	}
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// tryLock takes a non-blocking exclusive flock on f. It is held by a
// Release while it cleans and frees itself when that process dies.
func tryLock(f *os.File) (bool, error) {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// quarantine records why account is never to be handed out again. The
// account's lease stays in leases/, so no process can bind it.
func (ls *leaseStore) quarantine(l *Lease, why error) error {
	q := struct {
		Account, Session, Reason string
		Since                    time.Time
	}{l.Account, l.Session, why.Error(), time.Now()}
	b, _ := json.Marshal(q)
	return os.WriteFile(ls.path(dirQuarantine, l.Account), b, 0o600)
}

// Quarantine is one account that failed cleanup.
type Quarantine struct {
	Account, Session, Reason string
	Since                    time.Time
}

// quarantined lists the quarantine records.
func (ls *leaseStore) quarantined() ([]Quarantine, error) {
	ents, err := os.ReadDir(filepath.Join(ls.dir, dirQuarantine))
	if err != nil {
		return nil, err
	}
	var out []Quarantine
	for _, e := range ents {
		b, err := os.ReadFile(ls.path(dirQuarantine, e.Name()))
		if err != nil {
			continue
		}
		var q Quarantine
		if json.Unmarshal(b, &q) == nil {
			out = append(out, q)
		}
	}
	return out, nil
}

// all reads every lease in leases/ with its state.
func (ls *leaseStore) all() ([]*Lease, []*syscall.Stat_t, error) {
	ents, err := os.ReadDir(filepath.Join(ls.dir, dirLeases))
	if err != nil {
		return nil, nil, err
	}
	var out []*Lease
	var sts []*syscall.Stat_t
	for _, e := range ents {
		l, st, err := readLease(ls.path(dirLeases, e.Name()))
		if err != nil {
			continue // removed meanwhile, or a half-written record of a dead writer
		}
		ls.state(l, st)
		out = append(out, l)
		sts = append(sts, st)
	}
	return out, sts, nil
}
