package accounts

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// RemoveAll deletes every account this manager created or adopted: their
// processes are killed, their scratch files and homes removed, and (in
// privileged mode) the accounts deleted with userdel, which also removes
// their personal groups. Leases are dropped; the manager has no pools after.
func (m *Manager) RemoveAll() error {
	m.poolMu.Lock()
	defer m.poolMu.Unlock()
	var accts []Account
	for i := len(m.created) - 1; i >= 0; i-- {
		accts = append(accts, m.created[i])
	}
	m.mu.Lock()
	pools := m.pools
	m.pools, m.byName = map[string]*pool{}, map[string]*slot{}
	m.created = nil
	m.mu.Unlock()

	var errs []error
	for class, p := range pools {
		if p.kind.Superuser { // the accounts go: their sudo rules first
			errs = append(errs, rmMissingOK(m.SudoersFile(class)))
		}
	}
	for _, a := range accts {
		if err := m.remove(a); err != nil {
			errs = append(errs, fmt.Errorf("remove account %s: %w", a.Name, err))
			continue
		}
		m.log.Info("account removed", "account", a.Name)
	}
	return errors.Join(errs...)
}

func (m *Manager) remove(a Account) error {
	if m.priv {
		if err := m.clean(a, ReleaseOptions{}, true); err != nil {
			return err
		}
		if err := runRetry("userdel", a.Name); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(a.Home); err != nil {
		return err
	}
	return m.dropLeases(a.Name)
}

// dropLeases removes every lease-map entry of a deleted account.
func (m *Manager) dropLeases(account string) error {
	if m.leases == nil {
		return nil
	}
	l, _, err := readLease(m.leases.path(dirLeases, account))
	var errs []error
	if err == nil {
		for _, p := range []string{
			m.leases.path(dirSessions, l.Session), m.leases.path(dirReleasing, l.Session),
			m.leases.path(dirReserved, reservedKey(l.User, l.Class)),
		} {
			if l.Session == "" && !strings.Contains(p, dirReserved) {
				continue
			}
			errs = append(errs, rmMissingOK(p))
		}
	}
	errs = append(errs, rmMissingOK(m.leases.path(dirLeases, account)), rmMissingOK(m.leases.path(dirQuarantine, account)))
	return errors.Join(errs...)
}

func rmMissingOK(p string) error {
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
