package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/igrid/igrid/drm/store/pgtest"
)

// TestRunSchedSmall runs a small scenario so the runner itself is tested.
func TestRunSchedSmall(t *testing.T) {
	res, err := RunSched(context.Background(), SchedConfig{DB: filepath.Join(t.TempDir(), "b.db"),
		Nodes: 20, Reservations: 100, Requests: 200, Parallel: 4})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 200 || res.Scheduled+res.Queued+res.Denied != 200 || res.Scheduled == 0 || res.P99 <= 0 {
		t.Fatalf("result %+v", res)
	}
	t.Log(res)
}

// BenchmarkSched: durable placements per second and decision latency with
// 1,000 and 10,000 simulated nodes and 10,000 active reservations, SQLite.
// b.N placements per run, after seeding; metrics placements/s and p99-ms.
func BenchmarkSched(b *testing.B) {
	for _, nodes := range []int{1000, 10000} {
		for _, par := range []int{1, 2, 3, 4, 8, 32} {
			b.Run(fmt.Sprintf("sqlite/nodes=%d/parallel=%d", nodes, par), func(b *testing.B) {
				res, err := RunSched(context.Background(), SchedConfig{DB: filepath.Join(b.TempDir(), "b.db"),
					Nodes: nodes, Reservations: 10000, Requests: max(b.N, 200), Parallel: par})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(res.PerSecond, "placements/s")
				b.ReportMetric(float64(res.P99.Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(res.P50.Microseconds())/1000, "p50-ms")
				b.Log(res)
			})
		}
	}
}

// BenchmarkSchedPostgres is BenchmarkSched on PostgreSQL (a throwaway
// local cluster, fsync off), sequential, for comparison with SQLite.
func BenchmarkSchedPostgres(b *testing.B) {
	for _, nodes := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("nodes=%d/parallel=1", nodes), func(b *testing.B) {
			res, err := RunSched(context.Background(), SchedConfig{DB: pgtest.DB(b),
				Nodes: nodes, Reservations: 10000, Requests: max(b.N, 200), Parallel: 1})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(res.PerSecond, "placements/s")
			b.ReportMetric(float64(res.P99.Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(res.P50.Microseconds())/1000, "p50-ms")
			b.Log(res)
		})
	}
}
