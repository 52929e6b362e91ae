package drm

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/internal/proto"
)

func TestNextHour(t *testing.T) {
	base := time.Date(2030, 1, 1, 10, 30, 0, 0, time.UTC)
	cases := []struct {
		h    int
		want time.Time
	}{
		{11, time.Date(2030, 1, 1, 11, 0, 0, 0, time.UTC)},
		{10, time.Date(2030, 1, 2, 10, 0, 0, 0, time.UTC)},
		{3, time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		if got := nextHour(base, c.h); !got.Equal(c.want) {
			t.Errorf("nextHour(%d) = %s, want %s", c.h, got, c.want)
		}
	}
}

// TestHistoryAffinity: a user's past sessions give the previous node and
// the usual hours; the usual-hours component prefers the node free at
// those hours, and the trace shows both.
func TestHistoryAffinity(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "drm.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	past := func(id, node string, at time.Time) store.Session {
		s := store.Session{Session: proto.Session{ID: id, User: "alice", Class: "engineering", State: proto.StateEnded,
			Node: node, Account: "igeng01", Start: at, End: at.Add(time.Hour)}, Cores: 1, Created: at, Updated: at}
		return s
	}
	// Two past sessions at 09:00 UTC (the latest on node-b); node-a is busy
	// at 09:00 tomorrow, node-c is not.
	for _, s := range []store.Session{
		past("p1", "node-a", day.AddDate(0, 0, -3).Add(9*time.Hour)),
		past("p2", "node-b", day.AddDate(0, 0, -2).Add(9*time.Hour)),
	} {
		if err := st.InsertSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	busy := store.Session{Session: proto.Session{ID: "busy", User: "bob", Class: "engineering", State: proto.StateScheduled,
		Node: "node-a", Start: day.Add(9 * time.Hour), End: day.Add(10 * time.Hour)}, Cores: 2, Created: day, Updated: day}
	if err := st.InsertSession(ctx, busy); err != nil {
		t.Fatal(err)
	}
	var nodes []proto.NodeStatus
	for _, n := range []string{"node-a", "node-b", "node-c"} {
		v := view(n, 2, 4096)
		nodes = append(nodes, *v.NodeStatus)
	}
	sc := NewScheduler(st, func(time.Time) []proto.NodeStatus { return nodes })
	sc.Rank.Weights = Weights{Policy: 1, UsualHours: 0.5} // only the hours component beside the policy
	now := day.Add(6 * time.Hour)
	sess := store.Session{Session: proto.Session{ID: "s-new", User: "alice", Class: "engineering", State: proto.StateRequested,
		Start: now, End: now.Add(time.Hour), Template: proto.Template{UsageTime: proto.Duration(time.Hour)}}, Created: now, Updated: now}
	out, err := sc.Schedule(ctx, sess, now)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := st.Session(ctx, out.ID)
	if err != nil {
		t.Fatal(err)
	}
	var tr Trace
	if err := json.Unmarshal(stored.Trace, &tr); err != nil {
		t.Fatal(err)
	}
	if tr.PreviousNode != "node-b" || !slices.Equal(tr.UsualHours, []int{9}) {
		t.Fatalf("affinity data: previous %q, usual hours %v", tr.PreviousNode, tr.UsualHours)
	}
	hours := map[string]float64{}
	for _, n := range tr.Nodes {
		hours[n.Node] = n.Components[ScoreUsualHours]
	}
	if hours["node-a"] != 0 || hours["node-b"] != 1 || hours["node-c"] != 1 {
		t.Fatalf("usual-hours components %v; want node-a 0 (busy at 09:00), others 1", hours)
	}
	if out.Node == "node-a" {
		t.Fatalf("booked on node-a, the node busy at the user's usual hour")
	}
}
