package drm

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/internal/bus"
)

// TestProfilesFromPredictors: a profile a node's predictor publishes is
// folded into the DRM's application profiles; garbage changes nothing.
func TestProfilesFromPredictors(t *testing.T) {
	g := newGridWith(t, func(c *Config) { c.Profiles = []store.Profile{{App: "gcc", CPUPercent: 50, BandwidthKbps: 0}} })
	alice := g.user("alice", false)
	nc, err := bus.Connect(g.nats.URL(), "test-predictor")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for _, bad := range []string{`{"app":""}`, `not json`, `{"app":"gcc","cpu_percent":-5}`} {
		nc.Publish(bus.ProfileSubject, []byte(bad))
	}
	nc.Publish(bus.ProfileSubject, []byte(`{"app":"gcc","cpu_percent":150,"bandwidth_kbps":10}`))
	nc.Flush()
	checkFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		list, err := alice.Profiles(context.Background())
		if err != nil {
			return err
		}
		for _, p := range list {
			if p.App == "gcc" && p.Samples == 1 && p.CPUPercent == 70 { // 0.8×50 + 0.2×150
				return nil
			}
		}
		return fmt.Errorf("profiles %+v, want gcc folded once to 70 %%", list)
	})
}
