package accounts

import (
	"errors"
	"fmt"
	"os"
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
	m.pools, m.byName, m.sessions = map[string]*pool{}, map[string]*slot{}, map[string]*slot{}
	m.created = nil
	m.mu.Unlock()

	var errs []error
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
		if err := errors.Join(killUID(a.UID, KillTimeout), removeTmp(a.UID)); err != nil {
			return err
		}
		if err := runRetry("userdel", a.Name); err != nil {
			return err
		}
	}
	return os.RemoveAll(a.Home)
}
