package node

import (
	"errors"
	"fmt"
	"time"

	"github.com/igrid/igrid/accounts"
	"github.com/igrid/igrid/policies"
)

// A user is frequent on a node after FrequentSessions session starts there
// within FrequentWindow; a frequent user's account is then kept reserved
// for the class's hold time (SetHold).
var (
	FrequentSessions = 3
	FrequentWindow   = 14 * 24 * time.Hour
)

// ReconcilePools brings every class's account pool to set (on a policy
// change): pools grow, shrink only by free accounts, and a class that lost
// its prefix keeps its accounts until the agent stops. Every class is
// tried; the errors are joined.
func (a *Agent) ReconcilePools(set *policies.Set) error {
	var errs []error
	for _, name := range set.Names() {
		c, _ := set.Class(name)
		if c.AccountPool.Prefix == "" {
			continue
		}
		if err := a.accounts.Reconcile(name, c.AccountPool.Prefix, poolSize(c), poolKind(c)); err != nil {
			errs = append(errs, fmt.Errorf("class %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// poolKind is the accounts' kind of class c: a superuser pool takes its
// sudo rules (the node writes /etc/sudoers.d/igrid-<class> from them).
func poolKind(c *policies.Class) accounts.Kind {
	if c.AccountPool.Kind != "superuser" {
		return accounts.Normal
	}
	return accounts.Kind{Superuser: true, Sudo: c.AccountPool.Sudo}
}

// SetHold makes class keep a frequent user's account reserved for hold
// after their session (0: never).
func (a *Agent) SetHold(class string, hold time.Duration) error {
	p := accounts.ReservePolicy{}
	if hold > 0 {
		p = accounts.ReservePolicy{Sessions: FrequentSessions, Window: FrequentWindow, Hold: hold}
	}
	return a.accounts.SetReservePolicy(class, p)
}
