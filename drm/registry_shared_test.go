package drm

import (
	"log/slog"
	"testing"
	"time"

	"github.com/igrid/igrid/internal/proto"
)

// TestRegistryShared: Shared hands out one slice while nothing the index
// reads changes, and a fresh one after a new node, a changed description
// or affinity list, a node back online, or sharedTTL.
func TestRegistryShared(t *testing.T) {
	r := NewRegistry(nil, time.Second, slog.Default())
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	beat := func(name string, cores int, cached []string, at time.Time) {
		r.record(proto.Heartbeat{Node: proto.NodeInfo{Name: name, CPU: proto.CPU{Cores: cores}}, CachedUsers: cached,
			Load: proto.Load{Load1: float64(at.Nanosecond())}}, at)
	}
	beat("a", 4, nil, t0)
	first := r.Shared(t0)
	steps := []struct {
		name string
		act  func() time.Time // returns the time Shared is asked at
		same bool
	}{
		{"load only", func() time.Time { at := t0.Add(time.Millisecond); beat("a", 4, nil, at); return at }, true},
		{"new node", func() time.Time { at := t0.Add(2 * time.Millisecond); beat("b", 4, nil, at); return at }, false},
		{"no change", func() time.Time { return t0.Add(3 * time.Millisecond) }, true},
		{"cores", func() time.Time { at := t0.Add(4 * time.Millisecond); beat("a", 8, nil, at); return at }, false},
		{"cached users", func() time.Time { at := t0.Add(5 * time.Millisecond); beat("a", 8, []string{"u"}, at); return at }, false},
		{"ttl", func() time.Time { return t0.Add(5*time.Millisecond + sharedTTL) }, false},
		{"back online", func() time.Time { at := t0.Add(time.Minute); beat("b", 4, nil, at); return at }, false},
	}
	prev := first
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			got := r.Shared(s.act())
			if same := sameSlice(got, prev); same != s.same {
				t.Fatalf("same slice %v, want %v", same, s.same)
			}
			prev = got
		})
	}
	if c := prev[0].CachedUsers; len(c) != 1 || c[0] != "u" {
		t.Fatalf("node a's cached users %v: the heartbeat's affinity lists are not kept", c)
	}
}
