package accounts

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Kind is what a pool's accounts may do: a controlled normal user, or a
// controlled superuser that may run the listed commands as root through
// sudo (a generated drop-in in Config.SudoersDir).
type Kind struct {
	Superuser bool
	// Sudo lists the commands a superuser account may run as root: an
	// absolute path, optionally followed by fixed arguments.
	Sudo []string
}

// Normal is the kind of a pool of controlled normal users.
var Normal = Kind{}

func (k Kind) check() error {
	if !k.Superuser {
		if len(k.Sudo) > 0 {
			return reason(ErrBadKind, "sudo commands are given for a normal-user pool; only kind superuser takes them")
		}
		return nil
	}
	for _, c := range k.Sudo {
		if !strings.HasPrefix(c, "/") || strings.ContainsAny(c, ",:=\\#\"'!*?[]\n\r\t%") || c != strings.TrimSpace(c) {
			return reason(ErrBadKind, fmt.Sprintf("sudo command %q must be an absolute path with plain arguments (no , : = \\ # quotes ! wildcards %% or tabs)", c))
		}
		if _, err := os.Stat(strings.Fields(c)[0]); err != nil {
			return reason(ErrBadKind, fmt.Sprintf("sudo command %q: %v", c, err))
		}
	}
	return nil
}

// Reconcile brings class's pool to the policy: size accounts named
// <prefix><tag><NN> of kind. Missing accounts are created; accounts beyond
// size are never handed out again and are deleted as soon as they are free
// (now, or at a later Reconcile once their session ended). A superuser
// kind gets its sudoers drop-in rewritten; a normal kind has none. All
// password-database writes happen here (and in EnsurePool), never on Bind
// or Release. Bad input changes nothing.
func (m *Manager) Reconcile(class, prefix string, size int, kind Kind) error {
	if err := kind.check(); err != nil {
		return fmt.Errorf("class %s: %w", class, err)
	}
	if err := checkPoolName(prefix, m.cfg.Tag, size); err != nil {
		return fmt.Errorf("class %s: %w", class, err)
	}
	if err := m.EnsurePool(class, prefix, size); err != nil {
		return err
	}
	m.mu.Lock()
	p := m.pools[class]
	p.kind = kind
	for i, s := range p.slots {
		s.retiring = i >= size
	}
	m.mu.Unlock()
	err := m.retire(p)
	return joinErrs([]error{err, m.writeSudoers(p)})
}

// retire deletes the free retiring accounts of p.
func (m *Manager) retire(p *pool) error {
	m.poolMu.Lock()
	defer m.poolMu.Unlock()
	m.mu.Lock()
	var retiring []*slot
	for _, s := range p.slots {
		if s.retiring {
			retiring = append(retiring, s)
		}
	}
	m.mu.Unlock()
	var errs []error
	for _, s := range slices.Backward(retiring) {
		tmp, err := m.leases.writeTmp(&Lease{Account: s.acct.Name, Class: p.class, Since: time.Now()})
		if err != nil {
			return err
		}
		ok, err := linkOwned(tmp, m.leases.path(dirLeases, s.acct.Name))
		os.Remove(tmp)
		if err != nil || !ok {
			errs = append(errs, err) // in use: deleted at a later Reconcile
			continue
		}
		if err := m.remove(s.acct); err != nil {
			errs = append(errs, fmt.Errorf("retire account %s: %w", s.acct.Name, err))
			continue
		}
		m.dropSlot(p, s)
		m.log.Info("account retired (pool shrunk)", "account", s.acct.Name, "class", p.class)
	}
	return joinErrs(errs)
}

func (m *Manager) dropSlot(p *pool, s *slot) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p.slots = slices.DeleteFunc(p.slots, func(x *slot) bool { return x == s })
	delete(m.byName, s.acct.Name)
	m.created = slices.DeleteFunc(m.created, func(a Account) bool { return a.Name == s.acct.Name })
}

// sudoersName is the drop-in file of class (sudo skips names with a dot).
func sudoersName(class string) string {
	return "igrid-" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, class)
}

// SudoersFile is the path of class's generated sudoers drop-in.
func (m *Manager) SudoersFile(class string) string {
	return filepath.Join(m.cfg.SudoersDir, sudoersName(class))
}

// writeSudoers writes (superuser) or removes (normal) p's drop-in. The file
// is written aside, checked with `visudo -cf` (a rejection: ErrBadKind,
// nothing installed) and renamed into place. Without visudo (sudo not
// installed) or in unprivileged mode nothing is installed.
func (m *Manager) writeSudoers(p *pool) error {
	path := m.SudoersFile(p.class)
	if !p.kind.Superuser || len(p.kind.Sudo) == 0 {
		// A superuser pool without rules may run nothing as root: no drop-in.
		return rmMissingOK(path)
	}
	visudo, err := exec.LookPath("visudo")
	if err != nil {
		// Without sudo installed no rule can run: nothing to install, and
		// an older drop-in (unchecked now) goes.
		m.log.Error("superuser pool without sudo: visudo (package sudo) is not installed, no sudoers drop-in", "class", p.class)
		return rmMissingOK(path)
	}
	m.mu.Lock()
	var names []string
	for _, s := range p.slots {
		if !s.retiring {
			names = append(names, s.acct.Name)
		}
	}
	m.mu.Unlock()
	alias := "IGRID_" + strings.ToUpper(strings.ReplaceAll(strings.TrimPrefix(sudoersName(p.class), "igrid-"), "-", "_"))
	var b strings.Builder
	fmt.Fprintf(&b, "# Generated by igrid for class %s from its policy; rewritten at every reconcile.\n", p.class)
	fmt.Fprintf(&b, "User_Alias %s = %s\n", alias, strings.Join(names, ", "))
	fmt.Fprintf(&b, "Defaults:%s !requiretty, env_reset, !setenv\n", alias)
	fmt.Fprintf(&b, "%s ALL=(root) NOPASSWD: %s\n", alias, strings.Join(p.kind.Sudo, ", "))
	if err := os.MkdirAll(m.cfg.SudoersDir, 0o750); err != nil {
		if !m.priv && errors.Is(err, fs.ErrPermission) {
			m.log.Warn("unprivileged mode: no sudoers drop-in for a superuser pool", "class", p.class, "err", err)
			return nil
		}
		return fmt.Errorf("sudoers: %w", err)
	}
	tmp := filepath.Join(m.cfg.SudoersDir, "."+sudoersName(p.class)+".tmp")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o440); err != nil {
		if !m.priv && errors.Is(err, fs.ErrPermission) {
			m.log.Warn("unprivileged mode: no sudoers drop-in for a superuser pool", "class", p.class, "err", err)
			return nil
		}
		return fmt.Errorf("sudoers: %w", err)
	}
	if out, err := exec.Command(visudo, "-cqf", tmp).CombinedOutput(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%w: sudoers for class %s rejected by visudo (nothing installed): %v: %s", ErrBadKind, p.class, err, out)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("sudoers: %w", err)
	}
	return nil
}
