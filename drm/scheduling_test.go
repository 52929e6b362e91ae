package drm

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/igrid/igrid/drm/client"
	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/internal/proto"
)

// TestQueueExplainExtend: a full node queues the second request to the
// first's end, the trace explains both, and extending the first into the
// queued window is refused while extending the queued one is not.
func TestQueueExplainExtend(t *testing.T) {
	g := newGrid(t)
	alice := g.user("alice", false)
	g.node("node-a", 1, 2048, time.Second)
	g.node("node-b", 1, 256, time.Second)
	waitOnline(t, alice, "node-a", "node-b")
	ctx := context.Background()
	start := time.Now().UTC().Add(time.Hour).Truncate(time.Second).Format(time.RFC3339)
	first, err := alice.RequestSession(ctx, tpl(`{"usage_time":"20m","memory_mb":512,"start":"`+start+`"}`))
	if err != nil || first.State != proto.StateScheduled || first.Node != "node-a" {
		t.Fatalf("first = %+v, %v", first, err)
	}
	second, err := alice.RequestSession(ctx, tpl(`{"usage_time":"20m","memory_mb":512,"start":"`+start+`"}`))
	if err != nil || second.State != proto.StateQueued || !second.Start.Equal(first.End) {
		t.Fatalf("second = %+v, %v; want queued at %s", second, err, first.End)
	}
	tr := explain(t, alice, second.ID)
	byNode := map[string]NodeTrace{}
	for _, n := range tr.Nodes {
		byNode[n.Node] = n
	}
	if tr.Outcome != "queued" || tr.Node != "node-a" || tr.QueuedFrom == nil || len(tr.Nodes) != 2 {
		t.Fatalf("trace %+v", tr)
	}
	if b := byNode["node-b"]; b.Verdict != VerdictRejected || b.Stage != MatchName || b.Filter != "memory_mb" {
		t.Errorf("node-b in the trace: %+v", b)
	}
	if a := byNode["node-a"]; a.Verdict != VerdictChosen || a.EarliestStart == nil || !strings.HasPrefix(a.Reason, "cores 1 > free 0") {
		t.Errorf("node-a in the trace: %+v", a)
	}
	tr1 := explain(t, alice, first.ID)
	if a := tr1.Nodes[0]; tr1.Outcome != "scheduled" || a.Node != "node-a" || a.Verdict != VerdictChosen || a.Rank != 1 ||
		a.Components[ScorePolicy] != 1 || len(a.Components) != 4 || tr1.Considered != 2 || tr1.RejectedBy["match/memory_mb"] != 1 {
		t.Errorf("first's trace lacks its score components: %+v", tr1)
	}
	if _, err := alice.Extend(ctx, first.ID, 10*time.Minute); err == nil {
		t.Fatal("extending into the queued window was accepted")
	} else {
		wantAPIError(t, err, 409, "extend_refused", "cores 1 > free 0")
	}
	got, err := alice.Extend(ctx, second.ID, 10*time.Minute)
	if err != nil || !got.End.Equal(second.End.Add(10*time.Minute)) || got.Template.UsageTime.D() != 30*time.Minute {
		t.Fatalf("extend the queued one = %+v, %v", got, err)
	}
	_, err = alice.Extend(ctx, second.ID, time.Hour) // engineering allows 1h in all
	wantAPIError(t, err, 403, "quota_exceeded", "max_usage_time")
	// A queued session can be cancelled like a scheduled one.
	if got, err := alice.EndSession(ctx, second.ID); err != nil || got.State != proto.StateEnded || got.Reason != ReasonCancelled {
		t.Fatalf("cancel queued: %+v, %v", got, err)
	}
	code, body := g.do("POST", "/sessions/"+second.ID+"/extend", alice.Token(), `{"by":"-5m"}`)
	if c, _ := errOf(body); code != 400 || c != "invalid_input" {
		t.Errorf("negative extension: %d %v", code, body)
	}
}

// TestQueuedStarts: a queued session starts when its start comes.
func TestQueuedStarts(t *testing.T) {
	g := newGrid(t)
	alice := g.user("alice", false)
	g.node("node-a", 1, 2048, time.Second)
	waitOnline(t, alice, "node-a")
	ctx := context.Background()
	first, err := alice.RequestSession(ctx, tpl(`{"usage_time":"2s"}`))
	if err != nil {
		t.Fatal(err)
	}
	second, err := alice.RequestSession(ctx, tpl(`{"usage_time":"10m"}`))
	if err != nil || second.State != proto.StateQueued {
		t.Fatalf("second = %+v, %v", second, err)
	}
	waitState(t, alice, first.ID, proto.StateEnded)
	waitState(t, alice, second.ID, proto.StateRunning)
}

// TestQuotas: the class's quotas refuse in the booking transaction, with
// the session recorded denied and the limit named.
func TestQuotas(t *testing.T) {
	g := newGridWith(t, func(c *Config) {
		c.Quotas = map[string]store.Quota{"engineering": {MaxConcurrent: 1, BookingHorizon: 2 * time.Hour}}
	})
	alice := g.user("alice", false)
	g.node("node-a", 4, 4096, time.Second)
	waitOnline(t, alice, "node-a")
	ctx := context.Background()
	later := func(d time.Duration) string { return time.Now().UTC().Add(d).Format(time.RFC3339) }
	if _, err := alice.RequestSession(ctx, tpl(`{"usage_time":"30m","start":"`+later(time.Hour)+`"}`)); err != nil {
		t.Fatal(err)
	}
	s, err := alice.RequestSession(ctx, tpl(`{"usage_time":"30m","start":"`+later(70*time.Minute)+`"}`))
	wantAPIError(t, err, 403, "quota_exceeded", "max_concurrent_sessions")
	if s == nil || s.State != proto.StateDenied {
		t.Fatalf("quota-denied session %+v", s)
	}
	_, err = alice.RequestSession(ctx, tpl(`{"usage_time":"30m","start":"`+later(5*time.Hour)+`"}`))
	wantAPIError(t, err, 403, "quota_exceeded", "booking_horizon")
}

func TestProfilesAPI(t *testing.T) {
	seed := []store.Profile{{App: "vim", CPUPercent: 5, BandwidthKbps: 20}, {App: "python3", CPUPercent: 150, BandwidthKbps: 50}}
	g := newGridWith(t, func(c *Config) { c.Profiles = seed })
	alice := g.user("alice", false)
	ctx := context.Background()
	if _, err := g.drm.store.ObserveProfile(ctx, "vim", 25, 20, time.Now()); err != nil {
		t.Fatal(err)
	}
	list, err := alice.Profiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range list {
		if p.App == "vim" {
			found = p.Samples == 1 && p.CPUPercent == 9 // 0.8×5 + 0.2×25
		}
	}
	if !found || len(list) != len(seed) {
		t.Fatalf("profiles %+v", list)
	}
	// The profile's estimate counts in admission: python3 is seeded at 150 % CPU, so a
	// 2-core node (200 %) takes one at a time although cores would allow two.
	g.node("node-a", 2, 4096, time.Second)
	waitOnline(t, alice, "node-a")
	var states []string
	var last *proto.Session
	for range 2 {
		s, err := alice.RequestSession(ctx, tpl(`{"usage_time":"10m","start":"`+time.Now().UTC().Add(time.Hour).Format(time.RFC3339)+`","applications":["python3"]}`))
		if err != nil {
			t.Fatal(err)
		}
		states, last = append(states, string(s.State)), s
	}
	if strings.Join(states, ",") != "scheduled,queued" {
		t.Fatalf("states %v", states)
	}
	if tr := explain(t, alice, last.ID); len(tr.Nodes) != 1 || tr.Nodes[0].Reason != "cpu 150% > free 50%" {
		t.Fatalf("trace %+v", tr)
	}
}

// TestNodeLostReplacement: a node that stops beating during a session
// makes it lost within 3 heartbeats, with a replacement on the other node
// when the class allows.
func TestNodeLostReplacement(t *testing.T) {
	g := newGridWith(t, func(c *Config) {
		c.ReplaceLost = func(class string) bool { return class == "engineering" }
	})
	alice := g.user("alice", false)
	a := g.node("node-a", 2, 2048, 200*time.Millisecond)
	waitOnline(t, alice, "node-a")
	ctx := context.Background()
	s, err := alice.RequestSession(ctx, tpl(`{"usage_time":"30m"}`))
	if err != nil || s.Node != "node-a" {
		t.Fatalf("session %+v, %v", s, err)
	}
	waitState(t, alice, s.ID, proto.StateRunning)
	g.node("node-b", 2, 2048, 200*time.Millisecond)
	waitOnline(t, alice, "node-b")
	a.Stop()
	lost := waitState(t, alice, s.ID, proto.StateLost)
	if !strings.Contains(lost.Reason, "node-a missed 3 heartbeats") || !strings.Contains(lost.Reason, "booked on node-b") {
		t.Fatalf("lost reason %q", lost.Reason)
	}
	list, err := alice.Sessions(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("sessions %+v, %v", list, err)
	}
	repl := list[1]
	if repl.Node != "node-b" || !strings.Contains(repl.Reason, "replacement of "+s.ID) {
		t.Fatalf("replacement %+v", repl)
	}
	waitState(t, alice, repl.ID, proto.StateRunning)
	// A tick whose snapshot still had the session running (read before the
	// loss was handled) books nothing more.
	stale := store.Session{Session: *s}
	stale.State = proto.StateRunning
	g.drm.disp.lost(stale, time.Now().UTC())
	if list, err := alice.Sessions(ctx); err != nil || len(list) != 2 {
		t.Fatalf("after a stale loss: sessions %+v, %v", list, err)
	}
}

// TestNextCandidate: a node that beats but does not answer its start
// hands the session to the next node.
func TestNextCandidate(t *testing.T) {
	g := newGrid(t)
	alice := g.user("alice", false)
	deaf := g.node("node-a", 8, 8192, time.Second) // ranked first: most room
	if err := deaf.sub.Unsubscribe(); err != nil { // it beats, nobody answers
		t.Fatal(err)
	}
	g.node("node-b", 2, 2048, time.Second)
	waitOnline(t, alice, "node-a", "node-b")
	s, err := alice.RequestSession(context.Background(), tpl(`{"usage_time":"30m"}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Node != "node-a" {
		t.Fatalf("booked on %s; the test wants node-a first", s.Node)
	}
	got := waitState(t, alice, s.ID, proto.StateRunning)
	if got.Node != "node-b" || got.Reason != "node did not answer: node-a did not answer the start; moved to node-b" {
		t.Fatalf("running on %s (%q), want node-b with the move's reason", got.Node, got.Reason)
	}
}

// explain fetches a session's decision trace.
func explain(t *testing.T, c *client.Client, id string) Trace {
	t.Helper()
	ex, err := c.Explain(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var tr Trace
	if err := json.Unmarshal(ex.Explain, &tr); err != nil {
		t.Fatalf("trace %s: %v", ex.Explain, err)
	}
	return tr
}
