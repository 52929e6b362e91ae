package drm

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/igrid/igrid/drm/client"
	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/internal/proto"
)

// tpl decodes a template literal or panics.
func tpl(js string) proto.Template {
	t, err := proto.DecodeTemplateBytes([]byte(js))
	if err != nil {
		panic(err)
	}
	return t
}

func TestLifecycle(t *testing.T) {
	g := newGrid(t)
	alice := g.user("alice", false)
	node := g.node("node-a", 2, 2048, time.Second)
	waitOnline(t, alice, "node-a")
	ctx := context.Background()

	s, err := alice.RequestSession(ctx, tpl(`{"usage_time":"2s","memory_mb":256,"cpu":{"cores":1},"qos":{"cpu_percent":50}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.State != proto.StateScheduled || s.Node != "node-a" || !strings.HasPrefix(s.ID, "s-") || len(s.ID) != 14 {
		t.Fatalf("request answered %+v", s)
	}
	running := waitState(t, alice, s.ID, proto.StateRunning)
	if running.Account != "igeng01" || running.Connect.SSH == nil || running.Connect.SSH.Port != 2201 || running.Connect.SSH.User != "alice" {
		t.Fatalf("running session lacks connect info: %+v", running)
	}
	starts := node.received(proto.OpStart)
	if len(starts) != 1 {
		t.Fatalf("node got %d start commands, want 1", len(starts))
	}
	st := starts[0].Start
	if st.SessionID != s.ID || st.Class != "engineering" || len(st.AuthorizedKeys) != 1 ||
		st.SLA.MaxProcesses != 32 || st.SLA.UsageTime.D() != 2*time.Second || st.SLA.MemoryMB != 256 || st.SLA.CPUPercent != 50 {
		t.Fatalf("start command %+v", st)
	}
	ended := waitState(t, alice, s.ID, proto.StateEnded)
	if ended.Reason != ReasonUsageOver {
		t.Errorf("ended with reason %q, want %q", ended.Reason, ReasonUsageOver)
	}
	if ends := node.received(proto.OpEnd); len(ends) != 1 || ends[0].End.SessionID != s.ID {
		t.Fatalf("end commands %+v", ends)
	}
}

func TestEndEarly(t *testing.T) {
	g := newGrid(t)
	alice := g.user("alice", false)
	bob := g.user("bob", false)
	node := g.node("node-a", 4, 2048, time.Second)
	waitOnline(t, alice, "node-a")
	ctx := context.Background()

	t.Run("running", func(t *testing.T) {
		s, err := alice.RequestSession(ctx, tpl(`{"usage_time":"30m"}`))
		if err != nil {
			t.Fatal(err)
		}
		waitState(t, alice, s.ID, proto.StateRunning)
		_, err = bob.EndSession(ctx, s.ID)
		wantAPIError(t, err, 404, "not_found", s.ID)
		got, err := alice.EndSession(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != proto.StateEnded || got.Reason != ReasonEndedByUser {
			t.Fatalf("after DELETE: %s %q", got.State, got.Reason)
		}
		if len(node.received(proto.OpEnd)) != 1 {
			t.Fatalf("node got %d end commands", len(node.received(proto.OpEnd)))
		}
		_, err = alice.EndSession(ctx, s.ID)
		wantAPIError(t, err, 409, "conflict", "already ended")
	})
	t.Run("scheduled", func(t *testing.T) {
		start := time.Now().UTC().Add(time.Hour).Format(time.RFC3339)
		s, err := alice.RequestSession(ctx, tpl(`{"usage_time":"30m","start":"`+start+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		got, err := alice.EndSession(ctx, s.ID)
		if err != nil || got.State != proto.StateEnded || got.Reason != ReasonCancelled {
			t.Fatalf("after DELETE: %+v, %v", got, err)
		}
	})
}

func TestConcurrentLastCapacity(t *testing.T) {
	g := newGrid(t)
	alice := g.user("alice", false)
	bob := g.user("bob", false)
	g.node("node-a", 1, 2048, time.Second)
	waitOnline(t, alice, "node-a")
	start := time.Now().UTC().Add(time.Hour).Format(time.RFC3339)
	var wg sync.WaitGroup
	results := make([]error, 2)
	sessions := make([]*proto.Session, 2)
	for i, c := range []*client.Client{alice, bob} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sessions[i], results[i] = c.RequestSession(context.Background(), tpl(`{"usage_time":"30m","start":"`+start+`"}`))
		}()
	}
	wg.Wait()
	// One wins the window; the other is queued to the earliest start the
	// book allows: the moment the winner's window ends.
	var won, queued *proto.Session
	for i, err := range results {
		switch {
		case err == nil && sessions[i].State == proto.StateScheduled:
			won = sessions[i]
		case err == nil && sessions[i].State == proto.StateQueued:
			queued = sessions[i]
		default:
			t.Errorf("request %d: %+v, %v", i, sessions[i], err)
		}
	}
	if won == nil || queued == nil {
		t.Fatalf("want one scheduled and one queued: %+v, %+v", won, queued)
	}
	if !queued.Start.Equal(won.End) || queued.Node != "node-a" || !strings.Contains(queued.Reason, "earliest start") {
		t.Fatalf("queued %+v; want start %s (the winner's end) on node-a", queued, won.End)
	}
}

func TestDeniedReasons(t *testing.T) {
	g := newGrid(t)
	alice := g.user("alice", false)
	g.node("node-a", 2, 256, time.Second)
	b := g.node("node-b", 2, 4096, 100*time.Millisecond)
	waitOnline(t, alice, "node-a", "node-b")
	b.Stop()
	ctx := context.Background()
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		nodes, err := alice.Nodes(ctx)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			if n.Name == "node-b" && n.Online {
				return fmt.Errorf("node-b still online, last seen %s", n.LastSeen)
			}
		}
		return nil
	})
	s, err := alice.RequestSession(ctx, tpl(`{"usage_time":"30m","memory_mb":512}`))
	want := "no node fits: node-a: memory 512 MB > node's 256 MB; node-b: offline"
	wantAPIError(t, err, 409, "denied", want)
	if s == nil || s.State != proto.StateDenied || s.Reason != want {
		t.Fatalf("denied session %+v", s)
	}
	list, err := alice.Sessions(ctx)
	if err != nil || len(list) != 1 || list[0].State != proto.StateDenied {
		t.Fatalf("Sessions = %+v, %v", list, err)
	}
	_, err = alice.RequestSession(ctx, tpl(`{"usage_time":"30m","applications":["matlab"]}`))
	wantAPIError(t, err, 409, "denied", "node-a: applications not installed: matlab")
	_, err = alice.RequestSession(ctx, tpl(`{"usage_time":"30m","node":"node-c"}`))
	wantAPIError(t, err, 409, "denied", "node-a: not the requested node (node-c)")
}

func TestStartFailure(t *testing.T) {
	g := newGrid(t)
	alice := g.user("alice", false)
	node := g.node("node-a", 2, 2048, time.Second)
	node.mu.Lock()
	node.startErr = "account pool engineering exhausted"
	node.mu.Unlock()
	waitOnline(t, alice, "node-a")
	s, err := alice.RequestSession(context.Background(), tpl(`{"usage_time":"30m"}`))
	if err != nil {
		t.Fatal(err)
	}
	got := waitState(t, alice, s.ID, proto.StateFailed)
	if !strings.Contains(got.Reason, "account pool engineering exhausted") {
		t.Fatalf("failed with reason %q", got.Reason)
	}
}

func TestAdminSeesAll(t *testing.T) {
	g := newGrid(t)
	alice := g.user("alice", false)
	bob := g.user("bob", false)
	admin := g.user("boss", true)
	g.node("node-a", 4, 2048, time.Second)
	waitOnline(t, alice, "node-a")
	ctx := context.Background()
	start := time.Now().UTC().Add(time.Hour).Format(time.RFC3339)
	for _, c := range []*client.Client{alice, bob} {
		if _, err := c.RequestSession(ctx, tpl(`{"usage_time":"30m","start":"`+start+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	counts := map[string]int{}
	for name, c := range map[string]*client.Client{"alice": alice, "boss": admin} {
		list, err := c.Sessions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		counts[name] = len(list)
	}
	if counts["alice"] != 1 || counts["boss"] != 2 {
		t.Fatalf("session counts %v; want alice 1, boss 2", counts)
	}
}

func TestMetrics(t *testing.T) {
	g := newGrid(t)
	alice := g.user("alice", false)
	g.node("node-a", 2, 2048, time.Second)
	waitOnline(t, alice, "node-a")
	start := time.Now().UTC().Add(time.Hour).Format(time.RFC3339)
	if _, err := alice.RequestSession(context.Background(), tpl(`{"usage_time":"30m","start":"`+start+`"}`)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + g.drm.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`igrid_drm_sessions{state="scheduled"} 1`,
		`igrid_drm_nodes_online 1`,
		`igrid_drm_http_requests_total{code="201",route="POST /api/v1/sessions"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestNodeOffline(t *testing.T) {
	g := newGrid(t)
	alice := g.user("alice", false)
	n := g.node("node-a", 2, 2048, 100*time.Millisecond)
	waitOnline(t, alice, "node-a")
	ctx := context.Background()
	nodes, err := alice.Nodes(ctx)
	if err != nil || len(nodes) != 1 || nodes[0].CPU.Cores != 2 || nodes[0].SSH.Port != 2201 || len(nodes[0].Applications) != 2 {
		t.Fatalf("Nodes = %+v, %v", nodes, err)
	}
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error { // persisted just after the beat
		stored, err := g.drm.store.Nodes(ctx)
		if err != nil || len(stored) != 1 || stored[0].Info.MemoryMB != 2048 || stored[0].SSHPort != 2201 {
			return fmt.Errorf("stored nodes %+v, %v", stored, err)
		}
		return nil
	})
	n.Stop() // three missed beats later the node is offline
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		nodes, err := alice.Nodes(ctx)
		if err != nil {
			return err
		}
		if nodes[0].Online {
			return fmt.Errorf("node-a still online, last seen %s", nodes[0].LastSeen)
		}
		return nil
	})
}

func TestInterruptedStart(t *testing.T) {
	g := newGrid(t)
	alice := g.user("alice", false)
	node := g.node("node-a", 2, 2048, time.Second)
	ctx := context.Background()
	old := time.Now().UTC().Add(-time.Hour)
	s := store.Session{Session: proto.Session{ID: "s-000000000001", User: "alice", Class: "engineering",
		State: proto.StateStarting, Node: "node-a", Start: old, End: old.Add(2 * time.Hour),
		Template: tpl(`{"usage_time":"2h"}`)}, Cores: 1, Created: old, Updated: old}
	if err := g.drm.store.InsertSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	got := waitState(t, alice, s.ID, proto.StateEnded)
	if got.Reason != ReasonInterrupted || len(node.received(proto.OpEnd)) != 1 {
		t.Fatalf("ended %+v; node ends %d", got, len(node.received(proto.OpEnd)))
	}
}
