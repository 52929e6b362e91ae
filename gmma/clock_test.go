package gmma_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/igrid/igrid/gmma"
	"github.com/igrid/igrid/internal/testutil"
)

// TestMonitorClock: the sampling clock samples again and again, and Shutdown interrupts a wait even when the next
// period is an hour away.
func TestMonitorClock(t *testing.T) {
	cases := []struct {
		name    string
		period  time.Duration
		samples uint64
	}{
		{"short period samples repeatedly", 20 * time.Millisecond, 3},
		{"shutdown interrupts a long wait", time.Hour, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := gmma.NewMonitor(gmma.MonitorConfig{Node: "clock-t", Interval: c.period, KeepPriority: true})
			if err != nil {
				t.Fatal(err)
			}
			seen := make(chan gmma.Sample, 64)
			m.Subscribe(func(s gmma.Sample) {
				select {
				case seen <- s:
				default:
				}
			})
			if err := m.Start(); err != nil {
				t.Fatal(err)
			}
			var last gmma.Sample
			testutil.CheckFor(t, 10*time.Second, func() error {
				for {
					select {
					case last = <-seen:
					default:
						if last.Seq < c.samples {
							return fmt.Errorf("%d samples, want %d", last.Seq, c.samples)
						}
						return nil
					}
				}
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := m.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown: %v (the clock's wait was not interrupted)", err)
			}
		})
	}
}
