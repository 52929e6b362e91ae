package node

import (
	"fmt"
	"time"

	"github.com/igrid/igrid/policies"
)

// openPolicies picks the agent's policy source: a Watcher on PoliciesDir
// (hot reload: an edit is in force within the watcher's debounce, a broken
// edit is rejected whole and the last good set stays), else the static
// Config.Policies.
func openPolicies(cfg Config) (policies.Source, *policies.Watcher, error) {
	if cfg.PoliciesDir == "" {
		return cfg.Policies, nil, nil
	}
	w, err := policies.NewWatcher(policies.WatcherConfig{Dir: cfg.PoliciesDir, Logger: cfg.Logger})
	if err != nil {
		return nil, nil, fmt.Errorf("node %s: policies: %w", cfg.Name, err)
	}
	return w, w, nil
}

// policy is the set in force now.
func (a *Agent) policy() *policies.Set { return a.src.Current() }

// executables maps the class's allowed command names to real paths, as
// installed on this node, in the set in force now.
func (a *Agent) executables(class string) map[string]string {
	exes, errs := a.policy().Executables(class)
	for _, e := range errs {
		a.log.Debug("executable not offered", "err", e)
	}
	return exes
}

// startPolicyWatch starts reloading and applies each new set to the
// account pools (grown, shrunk only by free accounts) and hold times.
func (a *Agent) startPolicyWatch() error {
	a.applyPolicy(a.policy())
	if a.watcher == nil {
		return nil
	}
	a.watcher.Subscribe(func(set *policies.Set) {
		a.log.Info("policies reloaded", "classes", len(set.Names()))
		a.applyPolicy(set)
		a.refreshSessionPolicies()
	})
	return a.watcher.Start()
}

func (a *Agent) applyPolicy(set *policies.Set) {
	if err := a.ReconcilePools(set); err != nil {
		a.log.Error("account pools after policy load", "err", err)
	}
	for _, name := range set.Names() {
		c, _ := set.Class(name)
		if err := a.SetHold(name, time.Duration(c.AccountPool.Hold)); err != nil {
			a.log.Error("reserved-account hold", "class", name, "err", err)
		}
	}
}

func (a *Agent) stopPolicyWatch() {
	if a.watcher != nil {
		a.watcher.Shutdown()
	}
}
