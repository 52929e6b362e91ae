package drm

import (
	"testing"
	"time"
)

func TestHistoryCache(t *testing.T) {
	var c historyCache
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	if _, ok := c.get("ann", t0); ok {
		t.Fatal("hit on an empty cache")
	}
	c.put(UserHistory{Name: "ann", PreviousNode: "n1"}, t0)
	if u, ok := c.get("ann", t0.Add(time.Second)); !ok || u.PreviousNode != "n1" {
		t.Fatalf("get after put = %+v, %v", u, ok)
	}
	if _, ok := c.get("ann", t0.Add(historyTTL+time.Second)); ok {
		t.Fatal("hit past historyTTL")
	}
	// A read that began before a forget is not kept; one begun after is.
	c.forget("ann", t0.Add(2*time.Second))
	if _, ok := c.get("ann", t0.Add(3*time.Second)); ok {
		t.Fatal("hit after forget")
	}
	c.put(UserHistory{Name: "ann", PreviousNode: "stale"}, t0.Add(time.Second))
	if _, ok := c.get("ann", t0.Add(3*time.Second)); ok {
		t.Fatal("a read begun before the forget was kept")
	}
	c.put(UserHistory{Name: "ann", PreviousNode: "n2"}, t0.Add(3*time.Second))
	if u, ok := c.get("ann", t0.Add(4*time.Second)); !ok || u.PreviousNode != "n2" {
		t.Fatalf("get after a fresh read = %+v, %v", u, ok)
	}
}
