package gmma_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/igrid/igrid/gmma"
	"github.com/igrid/igrid/internal/bus"
	"github.com/igrid/igrid/internal/testutil"
)

// TestGridViewFreshness: a grid aggregate's loads are offered while the
// aggregate is recent, not once it is older than maxAge, and only for the
// nodes it lists.
func TestGridViewFreshness(t *testing.T) {
	ns, err := bus.StartEmbedded(bus.EmbeddedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	nc, err := bus.Connect(ns.URL(), "view-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	v, err := gmma.WatchGrid(nc)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(gmma.GridAggregate{Level: gmma.LevelGrid, Full: true,
		Loads: []gmma.NodeLoad{{Node: "n1", CPU: 40, GridCPU: 150}}})
	if err := nc.Publish(gmma.GridSubject, b); err != nil {
		t.Fatal(err)
	}
	testutil.CheckFor(t, 5*time.Second, func() error {
		if _, n := v.Last(); n == 0 {
			return errors.New("no grid aggregate yet")
		}
		return nil
	})
	now := time.Now()
	names := []string{"n1", "n2"}
	cases := []struct {
		name      string
		at        time.Time
		wantFresh bool
		want      map[string]float64 // node → GridCPU offered
	}{
		{"recent", now, true, map[string]float64{"n1": 150}},
		{"older than maxAge", now.Add(2 * time.Minute), false, map[string]float64{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := map[string]float64{}
			fresh := v.Overlay(c.at, time.Minute, len(names), func(i int) string { return names[i] },
				func(i int, l gmma.NodeLoad) { got[names[i]] = l.GridCPU })
			if fresh != c.wantFresh || len(got) != len(c.want) || got["n1"] != c.want["n1"] {
				t.Fatalf("Overlay fresh=%v loads %v, want %v %v", fresh, got, c.wantFresh, c.want)
			}
			if l, ok := v.LoadIfFresh("n1", c.at, time.Minute); ok != c.wantFresh || (ok && l.Load().GridCPUPercent != 150) {
				t.Fatalf("LoadIfFresh n1 = %+v, %v", l, ok)
			}
		})
	}
}
