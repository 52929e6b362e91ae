package drm

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/igrid/igrid/drm/client"
	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/drm/store/pgtest"
	"github.com/igrid/igrid/internal/bus"
	"github.com/igrid/igrid/internal/proto"
)

const (
	loadNodes    = 10
	loadRequests = 500
	nodeCores    = 4
	nodeMemMB    = 4096
)

// loadTemplate is request i: a third for now, the rest ahead in 15-minute
// steps over 5 h, windows of 20 to 50 minutes that overlap heavily.
func loadTemplate(i int, base time.Time) proto.Template {
	t := proto.Template{CPU: proto.CPU{Cores: 1 + i%3}, MemoryMB: 256 * (1 + i%4),
		UsageTime: proto.Duration(time.Duration(20+(i%4)*10) * time.Minute)}
	if i%3 != 0 {
		t.Start = base.Add(time.Duration(1+i%20) * 15 * time.Minute).Format(time.RFC3339)
	}
	return t
}

type loadResult struct {
	booked     map[string]proto.Session // scheduled or queued answers
	denied     int
	lastDenial string
	failures   []error // transport errors (the DRM died mid-request)
}

// fire sends n concurrent requests; after killAt answers (when killAt > 0)
// it calls kill.
func fire(c *client.Client, n, offset int, base time.Time, killAt int, kill func()) loadResult {
	res := loadResult{booked: map[string]proto.Session{}}
	var mu sync.Mutex
	var answered atomic.Int64
	var once sync.Once
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := c.RequestSession(context.Background(), loadTemplate(offset+i, base))
			var ae *client.APIError
			mu.Lock()
			switch {
			case err == nil:
				res.booked[s.ID] = *s
			case errors.As(err, &ae) && ae.Code == "denied":
				res.denied++
				res.lastDenial = ae.Message
			default:
				res.failures = append(res.failures, err)
			}
			mu.Unlock()
			if answered.Add(1) == int64(killAt) {
				once.Do(kill)
			}
		}()
	}
	wg.Wait()
	return res
}

// TestCrashRestart: 500 concurrent requests for 10 nodes against a DRM
// process that is killed with SIGKILL in the middle, then restarted on the
// same database, then 500 more: every answer given as booked before the
// crash is still booked, as answered; nothing is booked twice; no instant
// of any node is over-committed; after the restart every request is
// answered. On both stores.
func TestCrashRestart(t *testing.T) {
	stores := []struct {
		name string
		db   func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "drm.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.DB(t) }},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) { crashRestart(t, st.db(t)) })
	}
}

func crashRestart(t *testing.T, db string) {
	ns, err := bus.StartEmbedded(bus.EmbeddedConfig{Host: "127.0.0.1", Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	g := &grid{t: t, nats: ns}
	var names []string
	for i := range loadNodes {
		names = append(names, fmt.Sprintf("node-%02d", i))
		g.node(names[i], nodeCores, nodeMemMB, 500*time.Millisecond)
	}
	cc := childConfig{DB: db, NATS: ns.URL(), Listen: "127.0.0.1:0", User: "load"}
	first := startChild(t, cc)
	c1 := client.New("http://"+first.addr+"/api/v1", first.token)
	waitOnline(t, c1, names...)
	base := time.Now().UTC().Truncate(time.Minute)
	before := fire(c1, loadRequests, 0, base, loadRequests/3, first.kill)
	first.kill()
	t.Logf("before the crash: %d booked, %d denied, %d cut off", len(before.booked), before.denied, len(before.failures))
	if len(before.booked) == 0 || len(before.failures) == 0 {
		t.Fatalf("the kill did not land mid-load: %d booked, %d cut off", len(before.booked), len(before.failures))
	}

	second := startChild(t, cc)
	c2 := client.New("http://"+second.addr+"/api/v1", second.token)
	// The 500 requests arrive at once and the DRM answers them in turn:
	// under -race on a loaded 2-core machine the last waits ~50 s. This
	// test is about answers, not latency (that is BenchmarkSched's), so
	// no request may be cut off by the client's default 60 s.
	c2.HTTP.Timeout = 5 * time.Minute
	waitOnline(t, c2, names...)
	for id, want := range before.booked {
		got, err := c2.Session(context.Background(), id)
		if err != nil {
			t.Fatalf("session %s answered %s before the crash: %v", id, want.State, err)
		}
		if got.Node != want.Node || !got.Start.Equal(want.Start) || !got.End.Equal(want.End) ||
			!slices.Contains(store.HoldingStates(), got.State) {
			t.Fatalf("session %s: answered %s on %s %s–%s, now %s on %s %s–%s", id, want.State, want.Node,
				want.Start, want.End, got.State, got.Node, got.Start, got.End)
		}
	}
	after := fire(c2, loadRequests, loadRequests, base, 0, nil)
	if len(after.failures) > 0 {
		t.Fatalf("%d requests unanswered after the restart, first: %v", len(after.failures), after.failures[0])
	}
	t.Logf("after the restart: %d booked, %d denied (%s)", len(after.booked), after.denied, after.lastDenial)
	all, err := c2.Sessions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkNoOvercommit(t, all)
}

// checkNoOvercommit sweeps each node's holding sessions in time order and
// fails at any instant where they need more cores or memory than the node
// has; it also fails on a repeated id.
func checkNoOvercommit(t *testing.T, all []proto.Session) {
	t.Helper()
	type event struct {
		at        time.Time
		cores, mb int
	}
	seen := map[string]bool{}
	byNode := map[string][]event{}
	for _, s := range all {
		if seen[s.ID] {
			t.Fatalf("session %s listed twice", s.ID)
		}
		seen[s.ID] = true
		if !slices.Contains(store.HoldingStates(), s.State) {
			continue
		}
		c, m := s.Template.CoresDemand(), s.Template.MemoryMB
		byNode[s.Node] = append(byNode[s.Node], event{s.Start, c, m}, event{s.End, -c, -m})
	}
	states := map[proto.State]int{}
	for _, s := range all {
		states[s.State]++
	}
	t.Logf("states: %v", states)
	held := 0
	for node, evs := range byNode {
		slices.SortFunc(evs, func(a, b event) int {
			if c := a.at.Compare(b.at); c != 0 {
				return c
			}
			return a.cores - b.cores // ends (negative) first: windows are half open
		})
		cores, mb := 0, 0
		for _, e := range evs {
			cores, mb = cores+e.cores, mb+e.mb
			if cores > nodeCores || mb > nodeMemMB {
				t.Fatalf("node %s over-committed at %s: %d cores, %d MB", node, e.at, cores, mb)
			}
		}
		held += len(evs) / 2
	}
	t.Logf("%d sessions, %d holding, no instant over-committed", len(all), held)
}
