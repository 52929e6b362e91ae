package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/igrid/igrid/internal/bus"
	"github.com/nats-io/nats.go"

	"github.com/igrid/igrid/policies"
)

// openPolicies picks the agent's policy source: with PoliciesFromDRM, the
// sets the DRM publishes over NATS (for nodes that do not share its
// filesystem; the newest seen is kept in DataDir, a node never goes back
// to an older one); else a Watcher on PoliciesDir (hot reload: an edit is
// in force within the watcher's debounce, a broken edit is rejected whole
// and the last good set stays); else the static Config.Policies.
func openPolicies(cfg Config) (policies.Source, *policies.Watcher, *policies.Subscriber, *nats.Conn, error) {
	switch {
	case cfg.PoliciesFromDRM:
		return subscribePolicies(cfg)
	case cfg.PoliciesDir != "":
		w, err := policies.NewWatcher(policies.WatcherConfig{Dir: cfg.PoliciesDir, Logger: cfg.Logger})
		if err != nil {
			return nil, nil, nil, nil, fmt.Errorf("node %s: policies: %w", cfg.Name, err)
		}
		return w, w, nil, nil, nil
	}
	return cfg.Policies, nil, nil, nil, nil
}

// subscribePolicies connects to NATS and waits for the DRM's set (or
// starts from the one kept on disk).
func subscribePolicies(cfg Config) (policies.Source, *policies.Watcher, *policies.Subscriber, *nats.Conn, error) {
	nc, err := bus.Connect(cfg.NATSURL, "igrid-node-"+cfg.Name)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("node %s: %w", cfg.Name, err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o711); err != nil {
		nc.Close()
		return nil, nil, nil, nil, err
	}
	sub, err := policies.NewSubscriber(nc, policies.SubscriberConfig{
		StateFile: filepath.Join(cfg.DataDir, "policy-state.json"), Logger: cfg.Logger})
	if err == nil {
		err = sub.Start()
	}
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), PolicyWait)
		err = sub.Ready(ctx)
		cancel()
	}
	if err != nil {
		nc.Close()
		return nil, nil, nil, nil, fmt.Errorf("node %s: policies from the DRM: %w", cfg.Name, err)
	}
	return sub, nil, sub, nc, nil
}

// PolicyWait is how long a node that takes its policies from the DRM
// waits at start for a first set.
var PolicyWait = 30 * time.Second

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

// startPolicyWatch starts reloading and applies each new set.
func (a *Agent) startPolicyWatch() error {
	onSet := func(set *policies.Set) {
		a.log.Info("policies reloaded", "classes", len(set.Names()))
		if err := a.applyPolicy(set); err != nil {
			a.log.Error("account pools after policy reload", "err", err)
		}
		a.refreshSessionPolicies()
	}
	switch {
	case a.subscriber != nil:
		a.subscriber.Subscribe(onSet)
	case a.watcher != nil:
		a.watcher.Subscribe(onSet)
		return a.watcher.Start()
	}
	return nil
}

// applyPolicy brings the account pools (grown, shrunk only by free
// accounts) and hold times to set. Pools are made here, at start and on a
// reload, never on the session path.
func (a *Agent) applyPolicy(set *policies.Set) error {
	errs := []error{a.ReconcilePools(set)}
	for _, name := range set.Names() {
		c, _ := set.Class(name)
		if err := a.SetHold(name, time.Duration(c.AccountPool.Hold)); err != nil {
			errs = append(errs, fmt.Errorf("class %s: hold: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func (a *Agent) stopPolicyWatch() {
	if a.watcher != nil {
		a.watcher.Shutdown()
	}
	if a.subscriber != nil {
		a.subscriber.Shutdown()
	}
}
