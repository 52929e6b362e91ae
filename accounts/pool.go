package accounts

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Comment is the GECOS comment of every account igrid makes. An existing
// account with this comment is igrid's own (left by a crash) and is adopted.
const Comment = "igrid dynamic account"

// NoLoginShell is the login shell of every dynamic account: sshd and su
// refuse it; sessions only enter through igrid's SSH server.
const NoLoginShell = "/usr/sbin/nologin"

// maxNameLen is the longest user name useradd accepts.
const maxNameLen = 32

// AccountName is the name of account n (from 1) of a pool: prefix, tag, and
// n zero-padded to two digits.
func AccountName(prefix, tag string, n int) string {
	return fmt.Sprintf("%s%s%02d", prefix, tag, n)
}

// EnsurePool makes sure class has a pool of size accounts named
// <prefix><tag><NN>: missing accounts are created, accounts left by an
// earlier crash (with igrid's comment) are adopted and cleaned. Calling it
// again with a larger size grows the pool; a smaller size never shrinks it.
func (m *Manager) EnsurePool(class, prefix string, size int) error {
	if m.initErr != nil {
		return m.initErr
	}
	if err := checkPoolName(prefix, m.cfg.Tag, size); err != nil {
		return fmt.Errorf("class %s: %w", class, err)
	}
	m.poolMu.Lock()
	defer m.poolMu.Unlock()
	m.mu.Lock()
	p, ok := m.pools[class]
	if ok && p.prefix != prefix {
		m.mu.Unlock()
		return fmt.Errorf("class %s already has a pool with prefix %q, not %q", class, p.prefix, prefix)
	}
	have := 0
	if ok {
		have = len(p.slots)
	}
	m.mu.Unlock()
	if err := os.MkdirAll(m.cfg.HomeRoot, 0o711); err != nil {
		return fmt.Errorf("home root: %w", err)
	}
	for n := have + 1; n <= size; n++ {
		name := AccountName(prefix, m.cfg.Tag, n)
		m.mu.Lock()
		other, taken := m.byName[name]
		m.mu.Unlock()
		if taken {
			return fmt.Errorf("class %s: account %s already belongs to the pool of class %s", class, name, other.acct.Class)
		}
		acct, err := m.ensureAccount(class, name)
		if err != nil {
			return fmt.Errorf("class %s: %w", class, err)
		}
		m.addSlot(class, prefix, acct)
	}
	return nil
}

func (m *Manager) addSlot(class, prefix string, acct Account) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.pools[class]
	if !ok {
		p = &pool{class: class, prefix: prefix}
		m.pools[class] = p
	}
	s := &slot{acct: acct}
	p.slots = append(p.slots, s)
	m.byName[acct.Name] = s
}

func checkPoolName(prefix, tag string, size int) error {
	if size < 1 || size > 999 {
		return reason(ErrBadName, fmt.Sprintf("pool size %d is out of range [1, 999]", size))
	}
	name := AccountName(prefix, tag, size)
	if len(name) > maxNameLen {
		return reason(ErrBadName, fmt.Sprintf("account name %q is longer than %d characters", name, maxNameLen))
	}
	if prefix == "" || prefix[0] < 'a' || prefix[0] > 'z' {
		return reason(ErrBadName, fmt.Sprintf("pool prefix %q must start with a lower-case letter", prefix))
	}
	for _, r := range prefix + tag {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return reason(ErrBadName, fmt.Sprintf("pool prefix and tag %q may hold only a-z, 0-9, '_' and '-'", prefix+tag))
		}
	}
	return nil
}

// ensureAccount creates or adopts the account name and gives it an empty
// home owned by it.
func (m *Manager) ensureAccount(class, name string) (Account, error) {
	acct := Account{Name: name, Class: class, Home: filepath.Join(m.cfg.HomeRoot, name)}
	if !m.priv {
		acct.UID, acct.GID = uint32(os.Getuid()), uint32(os.Getgid())
		m.created = append(m.created, acct)
		if fileExists(m.leases.path(dirLeases, name)) {
			return acct, nil
		}
		return acct, m.emptyHome(acct)
	}
	u, err := user.Lookup(name)
	var unknown user.UnknownUserError
	switch {
	case errors.As(err, &unknown):
		if err := m.useradd(name, acct.Home); err != nil {
			return acct, err
		}
		if u, err = user.Lookup(name); err != nil {
			return acct, fmt.Errorf("account %s after useradd: %w", name, err)
		}
		m.log.Info("account created", "account", name, "class", class, "uid", u.Uid)
	case err != nil:
		return acct, fmt.Errorf("look up account %s: %w", name, err)
	case u.Name != Comment:
		return acct, reason(ErrNotIgrid, fmt.Sprintf("account %s exists with comment %q, not %q: igrid will not take it over", name, u.Name, Comment))
	default:
		m.log.Info("account adopted (left by an earlier run)", "account", name, "class", class, "uid", u.Uid)
	}
	if acct.UID, acct.GID, err = ids(u); err != nil {
		return acct, err
	}
	m.created = append(m.created, acct)
	if u.HomeDir != acct.Home {
		if err := runRetry("usermod", "-d", acct.Home, name); err != nil {
			return acct, err
		}
	}
	if fileExists(m.leases.path(dirLeases, name)) {
		return acct, nil // leased (a running session, a reservation, a quarantine): Recover says which
	}
	return acct, m.clean(acct, ReleaseOptions{}, false)
}

func ids(u *user.User) (uint32, uint32, error) {
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, fmt.Errorf("account %s: bad uid/gid: %w", u.Username, err)
	}
	if uid == 0 {
		return 0, 0, fmt.Errorf("account %s has uid 0: refusing to use it", u.Username)
	}
	return uint32(uid), uint32(gid), nil
}

// useradd makes a real account: no home created by useradd (we make it),
// the nologin shell, its own group, igrid's comment. The password stays
// locked ("!" in /etc/shadow), as useradd leaves it without -p.
func (m *Manager) useradd(name, home string) error {
	return runRetry("useradd", "-M", "-d", home, "-s", NoLoginShell, "-U", "-c", Comment, name)
}

// runRetry runs an account tool, retrying while another process holds the
// password database lock (several agents may start at once on one machine).
func runRetry(name string, args ...string) error {
	var out []byte
	var err error
	for i := 0; i < 50; i++ {
		out, err = exec.Command(name, args...).CombinedOutput()
		if err == nil {
			return nil
		}
		if !strings.Contains(string(out), "lock") {
			break
		}
		time.Sleep(time.Duration(20+10*i) * time.Millisecond)
	}
	return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
}
