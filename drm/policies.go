package drm

import (
	"fmt"

	"github.com/igrid/igrid/policies"
	"github.com/nats-io/nats.go"
)

// openPolicies picks the DRM's policy source: a Watcher on PoliciesDir
// (an edit is in force within the watcher's debounce; a broken edit is
// rejected whole, the last good set stays and the error is logged and
// counted), else the static Config.Policies.
func openPolicies(cfg Config) (policies.Source, *policies.Watcher, error) {
	if cfg.PoliciesDir == "" {
		if cfg.Policies == nil {
			return nil, nil, fmt.Errorf("%w: neither Policies nor PoliciesDir is set", ErrConfig)
		}
		return cfg.Policies, nil, nil
	}
	w, err := policies.NewWatcher(policies.WatcherConfig{Dir: cfg.PoliciesDir, Logger: cfg.Logger})
	if err != nil {
		return nil, nil, fmt.Errorf("policies: %w", err)
	}
	return w, w, nil
}

// startPolicies starts the watcher and publishes every set in force to
// the nodes over NATS (versioned by content hash), so that nodes without
// the DRM's filesystem run the same policies.
func (s *Server) startPolicies(nc *nats.Conn) error {
	s.pub = policies.NewPublisher(nc, s.log)
	if err := s.pub.Start(); err != nil {
		return err
	}
	if err := s.pub.Publish(s.pol.Current()); err != nil {
		return err
	}
	if s.watcher == nil {
		return nil
	}
	s.watcher.Subscribe(func(set *policies.Set) {
		s.log.Info("policies reloaded", "classes", len(set.Names()))
		if err := s.pub.Publish(set); err != nil {
			s.log.Error("publish policies", "err", err)
		}
	})
	for _, c := range s.watcher.Collectors() {
		s.met.reg.MustRegister(c)
	}
	return s.watcher.Start()
}

func (s *Server) stopPolicies() {
	if s.watcher != nil {
		s.watcher.Shutdown()
	}
	if s.pub != nil {
		s.pub.Shutdown()
	}
}

// PolicyProblems are the problems of the last rejected policy edit (none
// when the last edit loaded), for the portal's admin view.
func (s *Server) PolicyProblems() []policies.Problem {
	if s.watcher == nil {
		return nil
	}
	return s.watcher.Problems()
}
