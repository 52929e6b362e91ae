package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/igrid/igrid/gmma"
	"github.com/igrid/igrid/internal/bus"
)

func aggregatorCmd() *cobra.Command {
	var cfg gmma.AggregatorConfig
	var natsURL, archive, metricsAddr string
	cmd := &cobra.Command{
		Use:   "aggregator",
		Short: "Run a GMMA aggregator: --level cluster (nodes → igrid.gmma.agg.<cluster>) or grid (clusters → igrid.gmma.grid)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Logger = logger()
			nc, err := bus.Connect(natsURL, "igrid-aggregator-"+cfg.Level)
			if err != nil {
				return err
			}
			defer nc.Close()
			cfg.Conn = nc
			if archive != "" {
				if cfg.Archive, err = gmma.OpenArchive(archive); err != nil {
					return err
				}
				defer cfg.Archive.Close()
			}
			a, err := gmma.NewAggregator(cfg)
			if err != nil {
				return err
			}
			if err := a.Start(); err != nil {
				return err
			}
			if metricsAddr != "" {
				if err := serveAggMetrics(a, metricsAddr); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "igrid aggregator: level %s publishing on %s every %s\n", cfg.Level, a.Subject(), cfg.Period)
			waitSignal()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return a.Shutdown(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Level, "level", "", "cluster or grid (required)")
	f.StringVar(&cfg.Cluster, "cluster", "", "the cluster a cluster-level aggregator serves")
	f.DurationVar(&cfg.Period, "period", 10*time.Second, "publication period")
	f.Float64Var(&cfg.DeadbandCPU, "deadband-cpu", 5, "re-send a node's load when its CPU moved this many points")
	f.IntVar(&cfg.FullEvery, "full-every", 6, "send every node's load every this many periods")
	f.StringVar(&natsURL, "nats-url", "nats://127.0.0.1:4222", "NATS server")
	f.StringVar(&archive, "archive", "", "SQLite file archiving every published aggregate")
	f.StringVar(&metricsAddr, "metrics-listen", "", "serve Prometheus /metrics there")
	return cmd
}

func serveAggMetrics(a *gmma.Aggregator, addr string) error {
	reg := prometheus.NewRegistry()
	for _, c := range []struct {
		name, help string
		f          func() float64
	}{
		{"igrid_gmma_aggregator_in_messages_total", "Aggregates received from the level below.", func() float64 { return float64(a.InMsgs.Load()) }},
		{"igrid_gmma_aggregator_in_bytes_total", "Bytes received from the level below.", func() float64 { return float64(a.InBytes.Load()) }},
		{"igrid_gmma_aggregator_out_messages_total", "Aggregates published above.", func() float64 { return float64(a.OutMsgs.Load()) }},
		{"igrid_gmma_aggregator_out_bytes_total", "Bytes published above.", func() float64 { return float64(a.OutBytes.Load()) }},
	} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: c.name, Help: c.help}, c.f))
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", gmma.Handler(reg))
	go func() { _ = (&http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}).Serve(ln) }()
	return nil
}
