package policies

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"
)

// WatcherConfig configures a Watcher.
type WatcherConfig struct {
	// Dir is the policies directory.
	Dir string
	// Debounce is how long the directory must stay quiet after a change
	// before it is reloaded (editors write in several steps); default 100ms.
	Debounce time.Duration
	// Registerer, when set, gets the watcher's metrics.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Watcher keeps a policy set loaded from a directory and reloads it when a
// file changes. A broken edit is rejected as a whole: the last good set
// stays in force and the error is kept (LastError), logged and counted in
// igrid_policy_reload_errors_total.
type Watcher struct {
	cfg WatcherConfig
	log *slog.Logger
	fw  *fsnotify.Watcher
	cur atomic.Pointer[Set]

	mu      sync.Mutex
	lastErr error
	subs    map[int]func(*Set)
	nextSub int

	reloads, failures prometheus.Counter
	classes           prometheus.Gauge

	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// NewWatcher loads cfg.Dir; it fails if the first load fails, since there
// is no last good set to fall back on.
func NewWatcher(cfg WatcherConfig) (*Watcher, error) {
	if cfg.Debounce <= 0 {
		cfg.Debounce = 100 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	set, err := LoadDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	w := &Watcher{cfg: cfg, log: cfg.Logger.With("component", "policies", "dir", cfg.Dir),
		subs: map[int]func(*Set){}, done: make(chan struct{}),
		reloads: prometheus.NewCounter(prometheus.CounterOpts{Name: "igrid_policy_reloads_total",
			Help: "Policy directory reloads that were applied."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "igrid_policy_reload_errors_total",
			Help: "Policy directory reloads rejected because the edited set is invalid."}),
		classes: prometheus.NewGauge(prometheus.GaugeOpts{Name: "igrid_policy_classes",
			Help: "Classes in the policy set in force."}),
	}
	w.cur.Store(set)
	w.classes.Set(float64(len(set.classes)))
	if cfg.Registerer != nil {
		for _, c := range w.Collectors() {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("policies: register metrics: %w", err)
			}
		}
	}
	return w, nil
}

// Collectors are the watcher's metrics, for a daemon's registry.
func (w *Watcher) Collectors() []prometheus.Collector {
	return []prometheus.Collector{w.reloads, w.failures, w.classes}
}

// Start begins watching the directory.
func (w *Watcher) Start() error {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("policies: watch: %w", err)
	}
	if err := fw.Add(w.cfg.Dir); err != nil {
		fw.Close()
		return fmt.Errorf("policies: watch %s: %w", w.cfg.Dir, err)
	}
	w.fw = fw
	w.wg.Add(1)
	go w.loop()
	return nil
}

func (w *Watcher) loop() {
	defer w.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-w.done:
			timer.Stop()
			return
		case ev, ok := <-w.fw.Events:
			if !ok {
				return
			}
			if relevant(ev.Name) {
				timer.Reset(w.cfg.Debounce)
			}
		case err, ok := <-w.fw.Errors:
			if !ok {
				return
			}
			w.log.Warn("policy watch error; reloading to be safe", "err", err)
			timer.Reset(w.cfg.Debounce)
		case <-timer.C:
			_ = w.Reload()
		}
	}
}

func relevant(name string) bool {
	switch filepath.Ext(name) {
	case ".yaml", ".yml":
		return true
	}
	return false
}

// Reload loads the directory now. On success the new set is in force and
// every subscriber gets it (when its version differs); on error the old set
// stays and the error is returned, kept and counted.
func (w *Watcher) Reload() error {
	set, err := LoadDir(w.cfg.Dir)
	w.mu.Lock()
	if err != nil {
		w.lastErr = err
		w.mu.Unlock()
		w.failures.Inc()
		w.log.Error("policy edit rejected; the last good set stays in force",
			"version", w.Current().Version(), "err", err)
		return err
	}
	w.lastErr = nil
	old := w.cur.Load()
	if old.Version() == set.Version() {
		w.mu.Unlock()
		return nil
	}
	w.cur.Store(set)
	subs := make([]func(*Set), 0, len(w.subs))
	for _, fn := range w.subs {
		subs = append(subs, fn)
	}
	w.mu.Unlock()
	w.reloads.Inc()
	w.classes.Set(float64(len(set.classes)))
	w.log.Info("policy set reloaded", "version", set.Version(), "classes", len(set.classes))
	for _, fn := range subs {
		fn(set)
	}
	return nil
}

// Current is the set in force.
func (w *Watcher) Current() *Set { return w.cur.Load() }

// LastError is the error of the last reload, nil if it succeeded. A
// *LoadError lists every problem with file, line and key.
func (w *Watcher) LastError() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastErr
}

// Problems is LastError as a list, for the portal.
func (w *Watcher) Problems() []Problem {
	var le *LoadError
	if err := w.LastError(); errors.As(err, &le) {
		return le.Problems
	} else if err != nil {
		return []Problem{{File: w.cfg.Dir, Msg: err.Error()}}
	}
	return nil
}

// Subscribe calls fn with every new set applied (from the watcher's
// goroutine; fn must not block long). The returned func unsubscribes.
func (w *Watcher) Subscribe(fn func(*Set)) (cancel func()) {
	w.mu.Lock()
	id := w.nextSub
	w.nextSub++
	w.subs[id] = fn
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		delete(w.subs, id)
		w.mu.Unlock()
	}
}

// Shutdown stops watching; Current keeps answering.
func (w *Watcher) Shutdown() {
	w.once.Do(func() {
		close(w.done)
		if w.fw != nil {
			w.fw.Close()
		}
		w.wg.Wait()
	})
}
