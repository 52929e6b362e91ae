package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/igrid/igrid/drm"
	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/internal/proto"
)

// SchedConfig is one scheduling scenario.
type SchedConfig struct {
	DB           string // SQLite file or postgres:// URL; must be empty of sessions
	Nodes        int    // simulated nodes, 16 cores and 64 GB each
	Reservations int    // active reservations seeded before measuring
	Requests     int    // placements to measure
	Parallel     int    // concurrent requesters (1 = sequential)
	Policy       string // assignment policy; "" = least-loaded
}

// SchedResult is what a scenario measured.
type SchedResult struct {
	Config    SchedConfig
	Requests  int
	Scheduled int
	Queued    int
	Denied    int
	Elapsed   time.Duration
	PerSecond float64 // decisions written durably per second
	P50, P99  time.Duration
	Max       time.Duration
	SeedTime  time.Duration
	StoreKind string
}

func (r SchedResult) String() string {
	return fmt.Sprintf("%s nodes=%d reservations=%d parallel=%d: %d decisions (%d scheduled, %d queued, %d denied) in %s = %.0f/s, p50 %s, p99 %s, max %s",
		r.StoreKind, r.Config.Nodes, r.Config.Reservations, r.Config.Parallel, r.Requests, r.Scheduled, r.Queued, r.Denied,
		r.Elapsed.Round(time.Millisecond), r.PerSecond, r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond),
		r.Max.Round(time.Microsecond))
}

// SimNodes returns n simulated node statuses, all online.
func SimNodes(n int, now time.Time) []proto.NodeStatus {
	out := make([]proto.NodeStatus, n)
	for i := range n {
		out[i] = proto.NodeStatus{Online: true, LastSeen: now, Sessions: []string{},
			NodeInfo: proto.NodeInfo{Name: fmt.Sprintf("sim-%05d", i), OS: proto.OS{Name: "linux", Vendor: "debian", Version: "12"},
				CPU: proto.CPU{Type: "x86_64", ClockMHz: 2400, Cores: 16}, MemoryMB: 65536, SwapMB: 4096, DiskMB: 500000,
				Applications: []string{"vim", "python3", "gcc"}, TrustLevel: "standard"}}
	}
	return out
}

// RunSched seeds the store, then measures cfg.Requests placements.
func RunSched(ctx context.Context, cfg SchedConfig) (SchedResult, error) {
	res := SchedResult{Config: cfg, StoreKind: "sqlite"}
	if store.IsPostgresURL(cfg.DB) {
		res.StoreKind = "postgres"
	}
	st, err := open(ctx, cfg.DB)
	if err != nil {
		return res, err
	}
	defer st.Close()
	now := time.Now().UTC()
	nodes := SimNodes(cfg.Nodes, now)
	seedStart := time.Now()
	if err := seed(ctx, st, nodes, cfg.Reservations, now); err != nil {
		return res, fmt.Errorf("seed: %w", err)
	}
	res.SeedTime = time.Since(seedStart)
	sc := drm.NewScheduler(st, func(time.Time) []proto.NodeStatus { return nodes })
	p, err := drm.PolicyByName(cfg.Policy)
	if err != nil {
		return res, err
	}
	sc.Rank.Policy = p
	if err := sc.Warm(ctx); err != nil { // as the DRM does at start
		return res, err
	}
	lat, counts, elapsed, err := measure(ctx, sc, cfg, now)
	if err != nil {
		return res, err
	}
	res.Requests, res.Elapsed = len(lat), elapsed
	res.Scheduled, res.Queued, res.Denied = counts[proto.StateScheduled], counts[proto.StateQueued], counts[proto.StateDenied]
	res.PerSecond = float64(len(lat)) / elapsed.Seconds()
	slices.Sort(lat)
	res.P50, res.P99, res.Max = pct(lat, 0.50), pct(lat, 0.99), lat[len(lat)-1]
	return res, nil
}

func open(ctx context.Context, dsn string) (store.Store, error) {
	if store.IsPostgresURL(dsn) {
		return store.OpenPostgres(ctx, dsn)
	}
	return store.OpenSQLite(ctx, dsn)
}

// seed books n reservations spread over the next 24 h on random nodes,
// straight into the store (each in its own transaction, as the API does).
func seed(ctx context.Context, st store.Store, nodes []proto.NodeStatus, n int, now time.Time) error {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		node := nodes[r.IntN(len(nodes))]
		start := now.Add(time.Duration(r.IntN(24*60)) * time.Minute)
		s := session(fmt.Sprintf("seed-%06d", i), fmt.Sprintf("user%03d", i%500), start, 1+r.IntN(4), 30+r.IntN(90))
		s.State, s.Node = proto.StateScheduled, node.Name
		if err := st.InsertSession(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

func session(id, user string, start time.Time, cores, minutes int) store.Session {
	d := time.Duration(minutes) * time.Minute
	tpl := proto.Template{CPU: proto.CPU{Cores: cores}, MemoryMB: 1024 * cores, UsageTime: proto.Duration(d),
		Applications: []string{"vim"}, Start: start.Format(time.RFC3339)}
	return store.Session{Session: proto.Session{ID: id, User: user, Class: "engineering", State: proto.StateRequested,
		Start: start, End: start.Add(d), Template: tpl}, Cores: cores, MemoryMB: 1024 * cores, Created: start, Updated: start}
}

// measure runs the placements and returns each decision's latency.
func measure(ctx context.Context, sc *drm.Scheduler, cfg SchedConfig, now time.Time) ([]time.Duration, map[proto.State]int, time.Duration, error) {
	par := max(cfg.Parallel, 1)
	lat := make([]time.Duration, cfg.Requests)
	var next atomic.Int64
	var mu sync.Mutex
	counts := map[proto.State]int{}
	var firstErr error
	var wg sync.WaitGroup
	begin := time.Now()
	for w := range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for {
				i := int(next.Add(1)) - 1
				if i >= cfg.Requests {
					return
				}
				start := now.Add(time.Duration(r.IntN(24*60)) * time.Minute)
				s := session(fmt.Sprintf("req-%06d", i), fmt.Sprintf("user%03d", r.IntN(500)), start, 1+r.IntN(2), 30)
				t0 := time.Now()
				out, err := sc.Schedule(ctx, s, now)
				lat[i] = time.Since(t0)
				var de *drm.DeniedError
				if err != nil && !errors.As(err, &de) {
					mu.Lock()
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
					return
				}
				mu.Lock()
				counts[out.State]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return lat, counts, time.Since(begin), firstErr
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
