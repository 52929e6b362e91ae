package drm

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/igrid/igrid/drm/client"
	"github.com/igrid/igrid/drm/store/pgtest"
	"github.com/igrid/igrid/internal/bus"
	"github.com/igrid/igrid/internal/proto"
	"github.com/jackc/pgx/v5"
)

// TestTwoDRMsOnePostgres: two DRMs on one PostgreSQL serve the API
// together; only one dispatches; when it dies the other takes the lease
// within 5 s and starts what is due.
func TestTwoDRMsOnePostgres(t *testing.T) {
	db := pgtest.DB(t)
	ns, err := bus.StartEmbedded(bus.EmbeddedConfig{Host: "127.0.0.1", Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	start := func() *Server {
		d, err := New(Config{Listen: "127.0.0.1:0", DBPath: db, NATSURL: ns.URL(), PoliciesDir: "testdata/policies",
			DefaultClass: "engineering", Heartbeat: time.Second, Tick: 20 * time.Millisecond, LeaderPoll: 200 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Start(); err != nil {
			t.Fatal(err)
		}
		return d
	}
	a := start()
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if !a.Leading() {
			return fmt.Errorf("the first DRM does not lead")
		}
		return nil
	})
	b := start()
	t.Cleanup(func() { b.Shutdown(context.Background()) })
	g := &grid{t: t, nats: ns}
	node := g.node("node-a", 4, 4096, 200*time.Millisecond)
	ctx := context.Background()
	if err := a.CreateUser(ctx, "alice", "password-alice", "", false, []string{testKey}); err != nil {
		t.Fatal(err)
	}
	tok, err := b.IssueToken(ctx, "alice") // the user is shared through the database
	if err != nil {
		t.Fatal(err)
	}
	viaB := client.New("http://"+b.Addr()+"/api/v1", tok)
	viaA := client.New("http://"+a.Addr()+"/api/v1", tok)
	waitOnline(t, viaB, "node-a")
	waitOnline(t, viaA, "node-a")
	s1, err := viaB.RequestSession(ctx, tpl(`{"usage_time":"30m"}`))
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, viaA, s1.ID, proto.StateRunning)
	if b.Leading() || !a.Leading() {
		t.Fatalf("leading: a %v, b %v; want only a", a.Leading(), b.Leading())
	}
	// a dies; a session booked through b for a few seconds ahead must be
	// started by b once it has taken over.
	if err := a.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	died := time.Now()
	s2, err := viaB.RequestSession(ctx, tpl(`{"usage_time":"30m","start":"`+time.Now().UTC().Add(2*time.Second).Format(time.RFC3339)+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if !b.Leading() {
			return fmt.Errorf("b has not taken the lease %s after a died", time.Since(died))
		}
		return nil
	})
	t.Logf("b took over %s after a died", time.Since(died).Round(time.Millisecond))
	waitState(t, viaB, s2.ID, proto.StateRunning)
	if n := len(node.received(proto.OpStart)); n != 2 {
		t.Fatalf("node got %d starts, want 2 (nothing dispatched twice)", n)
	}
}

// TestLeaderKilled: the leading DRM is a process killed with SIGKILL; its
// PostgreSQL connection drops, and the other DRM leads within 5 s.
func TestLeaderKilled(t *testing.T) {
	db := pgtest.DB(t)
	ns, err := bus.StartEmbedded(bus.EmbeddedConfig{Host: "127.0.0.1", Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	leader := startChild(t, childConfig{DB: db, NATS: ns.URL(), Listen: "127.0.0.1:0", User: "admin"})
	// Wait until the child holds the lease: the one long-held advisory lock.
	conn, err := pgx.Connect(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		var n int
		if err := conn.QueryRow(context.Background(),
			`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("the child DRM holds no lease yet")
		}
		return nil
	})
	b, err := New(Config{Listen: "127.0.0.1:0", DBPath: db, NATSURL: ns.URL(), PoliciesDir: "testdata/policies",
		DefaultClass: "engineering", Tick: 20 * time.Millisecond, LeaderPoll: 100 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Shutdown(context.Background()) })
	// For half a second (b polls the lease 5 times) b must not lead.
	for end := time.Now().Add(500 * time.Millisecond); time.Now().Before(end); {
		if b.Leading() {
			t.Fatal("b leads while the child holds the lease")
		}
		runtimeGosched()
	}
	leader.kill()
	died := time.Now()
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if !b.Leading() {
			return fmt.Errorf("b has not taken the lease %s after kill -9", time.Since(died))
		}
		return nil
	})
	t.Logf("b took over %s after kill -9 of the leader", time.Since(died).Round(time.Millisecond))
}

// runtimeGosched yields between checks of a condition that must stay false.
func runtimeGosched() { runtime.Gosched(); <-time.After(10 * time.Millisecond) }
