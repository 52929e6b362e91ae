package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/igrid/igrid/drm/bench"
	"github.com/spf13/cobra"
)

// addBench puts sub under `igrid bench`, creating that command when no
// other file has.
func addBench(root *cobra.Command, sub *cobra.Command) {
	for _, c := range root.Commands() {
		if c.Name() == "bench" {
			c.AddCommand(sub)
			return
		}
	}
	b := &cobra.Command{Use: "bench", Short: "Whole-system benchmark scenarios"}
	b.AddCommand(sub)
	root.AddCommand(b)
}

// benchSchedCmd is `igrid bench sched`: the DRM scheduler scenario of
// drm/bench on a fresh database.
func benchSchedCmd() *cobra.Command {
	cfg := bench.SchedConfig{}
	var keep bool
	cmd := &cobra.Command{
		Use:   "sched",
		Short: "Durable placements per second and decision latency with simulated nodes and active reservations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Nodes <= 0 || cfg.Requests <= 0 || cfg.Reservations < 0 || cfg.Parallel <= 0 {
				return fmt.Errorf("--nodes, --requests and --parallel must be positive, --reservations not negative")
			}
			if cfg.DB == "" {
				dir, err := os.MkdirTemp("", "igrid-bench-sched-")
				if err != nil {
					return err
				}
				if !keep {
					defer os.RemoveAll(dir)
				}
				cfg.DB = filepath.Join(dir, "drm.db")
			}
			res, err := bench.RunSched(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), res)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DB, "db", "", "SQLite file or postgres:// URL holding no sessions (default: a fresh temporary SQLite file)")
	f.IntVar(&cfg.Nodes, "nodes", 10000, "simulated nodes")
	f.IntVar(&cfg.Reservations, "reservations", 10000, "active reservations seeded first")
	f.IntVar(&cfg.Requests, "requests", 10000, "placements measured")
	// One requester per core: the decision is CPU work, so more requesters
	// than cores only queue (throughput stays, latency grows).
	f.IntVar(&cfg.Parallel, "parallel", runtime.NumCPU(), "concurrent requesters")
	f.StringVar(&cfg.Policy, "policy", "", "assignment policy: least-loaded, best-fit or spread")
	f.BoolVar(&keep, "keep", false, "keep the temporary database")
	return cmd
}
