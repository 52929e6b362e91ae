package drm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/internal/bus"
	"github.com/igrid/igrid/policies"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Server is one DRM: store, node registry, scheduler, dispatcher and the
// HTTP API. New prepares it, Start runs it, Shutdown stops it.
type Server struct {
	cfg     Config
	log     *slog.Logger
	pol     policies.Source   // the class policies in force; ask at every decision
	watcher *policies.Watcher // non-nil when the DRM reloads PoliciesDir itself
	pub     *policies.Publisher
	store   store.Store
	reg     *Registry
	grid    *gridLoads // node load from the GMMA grid aggregate (load_ingest.go)
	sched   *Scheduler
	met     *metrics
	api     http.Handler

	leader  *store.Leader
	leading atomic.Bool

	mu   sync.Mutex
	nc   *nats.Conn
	disp *Dispatcher
	ln   net.Listener
	http *http.Server
}

// New loads the policies, opens and migrates the database and builds the
// server. It starts nothing.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	if cfg.DBPath == "" {
		return nil, fmt.Errorf("%w: DBPath is empty", ErrConfig)
	}
	if cfg.NATSURL == "" {
		return nil, fmt.Errorf("%w: NATSURL is empty", ErrConfig)
	}
	src, watcher, err := openPolicies(cfg)
	if err != nil {
		return nil, err
	}
	pol := src.Current()
	if err := pickDefaultClass(&cfg, pol); err != nil {
		return nil, err
	}
	policy, err := PolicyByName(cfg.Policy)
	if err != nil {
		return nil, err
	}
	st, err := openStore(context.Background(), cfg.DBPath)
	if err != nil {
		return nil, err
	}
	if err := st.SeedProfiles(context.Background(), cfg.Profiles); err != nil {
		st.Close()
		return nil, fmt.Errorf("seed profiles: %w", err)
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("component", "drm"), pol: src, watcher: watcher, store: st}
	s.reg = NewRegistry(st, cfg.Heartbeat, s.log)
	s.grid = newGridLoads(cfg.GridLoadMaxAge)
	s.reg.Overlay = s.grid.overlay
	s.sched = NewScheduler(st, s.reg.Shared)
	s.sched.Rank = Ranker{Policy: GridAware{policy}, Weights: *cfg.Weights, TopK: DefaultTopK}
	s.sched.Quota = s.quotaFor
	s.met = newMetrics(st, s.reg, s.log)
	s.api = s.routes()
	return s, nil
}

// leadFunc is the dispatcher's leader check: always for SQLite (one DRM
// per file); for PostgreSQL the advisory-lock lease, tried at most every
// LeaderPoll while another DRM holds it.
func (s *Server) leadFunc() func(ctx context.Context) bool {
	pg, ok := s.store.(*store.Postgres)
	if !ok {
		return nil
	}
	l := pg.Leader()
	s.leader = l
	var mu sync.Mutex
	var leading bool
	var tried time.Time
	return func(ctx context.Context) bool {
		mu.Lock()
		defer mu.Unlock()
		if !leading && time.Since(tried) < s.cfg.LeaderPoll {
			return false
		}
		tried = time.Now()
		was := leading
		var err error
		leading, err = l.TryLead(ctx)
		if err != nil {
			s.log.Warn("leader lease", "err", err)
		}
		if leading != was {
			s.log.Info("dispatcher leadership", "leading", leading)
		}
		s.leading.Store(leading)
		return leading
	}
}

// Leading reports whether this DRM held the dispatcher lease at its last
// tick (always true on SQLite once started).
func (s *Server) Leading() bool {
	if s.leader == nil {
		return s.Addr() != ""
	}
	return s.leading.Load()
}

// openStore opens PostgreSQL for a postgres:// URL, else SQLite.
func openStore(ctx context.Context, dsn string) (store.Store, error) {
	if store.IsPostgresURL(dsn) {
		return store.OpenPostgres(ctx, dsn)
	}
	return store.OpenSQLite(ctx, dsn)
}

// quotaFor is the class's quota: the hook's or the config's, with the
// policies' max usage time when the quota sets none.
func (s *Server) quotaFor(class string) store.Quota {
	q := s.cfg.Quotas[class]
	if s.cfg.QuotaFor != nil {
		q = s.cfg.QuotaFor(class)
	}
	if c, ok := s.pol.Current().Class(class); ok && q.MaxUsageTime == 0 {
		q.MaxUsageTime = c.Session.MaxUsageTime.D()
	}
	return q
}

// replaceLost says whether class's lost sessions are replaced.
func (s *Server) replaceLost(class string) bool {
	if s.cfg.ReplaceLost != nil {
		return s.cfg.ReplaceLost(class)
	}
	return slices.Contains(s.cfg.ReplaceLostClasses, class)
}

// pickDefaultClass checks cfg.DefaultClass, or picks the first class with
// an account pool when it is empty.
func pickDefaultClass(cfg *Config, pol *policies.Set) error {
	if cfg.DefaultClass != "" {
		if _, ok := pol.Class(cfg.DefaultClass); !ok {
			return fmt.Errorf("%w: DefaultClass %q is not in the policy set", ErrConfig, cfg.DefaultClass)
		}
		return nil
	}
	for _, n := range pol.Names() {
		if c, _ := pol.Class(n); c.AccountPool.Size > 0 {
			cfg.DefaultClass = n
			return nil
		}
	}
	return fmt.Errorf("%w: DefaultClass is empty and no class has an account pool", ErrConfig)
}

// Start connects to NATS, subscribes to heartbeats, listens on cfg.Listen
// and starts the dispatcher. It returns once the listener is open.
func (s *Server) Start() error {
	nc, err := bus.Connect(s.cfg.NATSURL, "igrid-drm")
	if err != nil {
		return err
	}
	if err := s.reg.Start(context.Background(), nc); err != nil {
		nc.Close()
		return fmt.Errorf("registry: %w", err)
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		s.reg.Stop()
		nc.Close()
		return fmt.Errorf("listen %s: %w", s.cfg.Listen, err)
	}
	if err := s.sched.Warm(context.Background()); err != nil { // the book is read before the first request
		s.log.Warn("read the book", "err", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", s.api)
	mux.Handle("GET /metrics", s.MetricsHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	disp := NewDispatcher(s.store, nc, s.pol, s.reg, s.cfg.Tick, s.log)
	disp.SetFailover(Failover{Lead: s.leadFunc(), Rebook: s.sched.Rebook, Replace: s.sched.Replace,
		ReplaceLost: s.replaceLost, Grace: MissedBeats * s.cfg.Heartbeat})
	disp.Running = s.sched.ForgetHistory
	s.mu.Lock()
	s.nc, s.ln, s.http, s.disp = nc, ln, srv, disp
	s.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http serve", "err", err)
		}
	}()
	disp.Start()
	if err := s.startPolicies(nc); err != nil {
		s.log.Error("policy distribution", "err", err)
	}
	if _, err := s.subscribeProfiles(nc); err != nil {
		s.log.Error("profile ingest", "err", err)
	}
	if err := s.grid.watch(nc); err != nil {
		s.log.Error("grid load ingest", "err", err)
	}
	s.log.Info("drm started", "addr", ln.Addr().String(), "nats", s.cfg.NATSURL, "default_class", s.cfg.DefaultClass)
	return nil
}

// Ready waits until NATS is connected and the heartbeat subscription is
// in place.
func (s *Server) Ready(ctx context.Context) error {
	s.mu.Lock()
	nc := s.nc
	s.mu.Unlock()
	if nc == nil {
		return ErrNotStarted
	}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for !nc.IsConnected() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("drm not connected to NATS %s: %w", s.cfg.NATSURL, ctx.Err())
		case <-t.C:
		}
	}
	if _, ok := ctx.Deadline(); !ok {
		// nats.go refuses a flush without a deadline.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	return nc.FlushWithContext(ctx)
}

// Addr is the HTTP listen address, once started.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Handler serves the /api/v1 routes (full paths), for mounting beside the
// portal.
func (s *Server) Handler() http.Handler { return s.api }

// MetricsHandler serves the DRM's Prometheus metrics.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.met.reg, promhttp.HandlerOpts{})
}

// Shutdown stops the HTTP server, the dispatcher (waiting for round trips
// under way) and the NATS connection, then closes the database.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	nc, srv, disp := s.nc, s.http, s.disp
	s.mu.Unlock()
	var errs []error
	if srv != nil { // first, so no DELETE starts a round trip behind Stop
		errs = append(errs, srv.Shutdown(ctx))
	}
	if disp != nil {
		errs = append(errs, disp.Stop(ctx))
	}
	s.reg.Stop()
	s.stopPolicies()
	if s.leader != nil {
		s.leader.Resign()
	}
	if nc != nil {
		nc.Close()
	}
	errs = append(errs, s.store.Close())
	return errors.Join(errs...)
}
