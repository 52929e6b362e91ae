package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/igrid/igrid/drm"
	"github.com/igrid/igrid/gss"
	"github.com/igrid/igrid/internal/bus"
	"github.com/igrid/igrid/internal/devgrid"
	"github.com/igrid/igrid/node"
	"github.com/spf13/cobra"
)

// waitSignal blocks until SIGINT or SIGTERM.
func waitSignal() os.Signal {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	return <-ch
}

func logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func devCmd() *cobra.Command {
	cfg := devgrid.Default()
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a whole one-machine grid: DRM, portal, embedded NATS + SQLite and node agents",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Logger = logger()
			out := cmd.OutOrStdout()
			fmt.Fprintln(out, "igrid dev:", devgrid.RunningAs())
			g, err := devgrid.Start(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			printBanner(cmd, g)
			sig := waitSignal()
			fmt.Fprintf(out, "\nigrid dev: %s: stopping (ending sessions, removing dynamic accounts)…\n", sig)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			return g.Shutdown(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data", cfg.DataDir, "directory for the database, keys, policies and dev.json")
	f.StringVar(&cfg.Listen, "listen", cfg.Listen, "address of the portal and API")
	f.IntVar(&cfg.Nodes, "nodes", cfg.Nodes, "number of node agents")
	f.IntVar(&cfg.SSHBasePort, "ssh-port", cfg.SSHBasePort, "SSH port of node-a (node-b gets the next); 0 picks free ports")
	f.BoolVar(&cfg.DemoSession, "demo-session", cfg.DemoSession, "book a session for the demo user at start")
	f.DurationVar(&cfg.DemoUsage, "demo-usage", cfg.DemoUsage, "usage time of the demo session")
	return cmd
}

func printBanner(cmd *cobra.Command, g *devgrid.Grid) {
	out, in := cmd.OutOrStdout(), g.Info
	fmt.Fprintf(out, "\nigrid dev is up with %d node(s): %v\n", len(in.Nodes), in.Nodes)
	fmt.Fprintf(out, "  portal:  %s   (user %s, password %s)\n", in.PortalURL, in.User, in.Password)
	fmt.Fprintf(out, "  api:     %s\n", in.APIURL)
	fmt.Fprintf(out, "  details: %s\n", devgrid.InfoFile(g.DataDir()))
	if in.SSHCommand != "" {
		fmt.Fprintf(out, "\nYour demo session %s is running. Enter it with:\n\n  %s\n\n", in.DemoSession, in.SSHCommand)
	}
	fmt.Fprintln(out, "Book another:  bin/igrid session request --usage-time 30m --wait   (then: bin/igrid session ssh ID)")
	fmt.Fprintln(out, "Ctrl-C stops the grid.")
}

func drmCmd() *cobra.Command {
	var cfg drm.Config
	var dataDir, natsURL, natsListen string
	cmd := &cobra.Command{
		Use:   "drm",
		Short: "Run the Grid DRM (API, scheduler, dispatcher); embeds NATS unless --nats-url is given",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Logger = logger()
			if err := os.MkdirAll(dataDir, 0o700); err != nil {
				return err
			}
			if cfg.DBPath == "" {
				cfg.DBPath = filepath.Join(dataDir, "drm.db")
			}
			cfg.NATSURL = natsURL
			if natsURL == "" {
				e, err := bus.StartEmbedded(bus.EmbeddedConfig{Host: hostOf(natsListen), Port: portOf(natsListen),
					StoreDir: filepath.Join(dataDir, "nats")})
				if err != nil {
					return err
				}
				defer e.Shutdown()
				cfg.NATSURL = e.URL()
				cfg.Logger.Info("embedded NATS started", "url", e.URL())
			}
			s, err := drm.New(cfg)
			if err != nil {
				return err
			}
			if err := s.Start(); err != nil {
				return err
			}
			cfg.Logger.Info("DRM listening", "api", "http://"+s.Addr()+"/api/v1")
			waitSignal()
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			return s.Shutdown(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Listen, "listen", "127.0.0.1:8080", "API listen address")
	f.StringVar(&dataDir, "data", "/var/lib/igrid/drm", "data directory (SQLite database, NATS store)")
	f.StringVar(&cfg.DBPath, "db", "", "SQLite file (default DATA/drm.db) or postgres:// URL (several DRMs may share one)")
	f.StringVar(&natsURL, "nats-url", "", "external NATS URL; empty embeds a NATS server")
	f.StringVar(&natsListen, "nats-listen", "127.0.0.1:4222", "listen address of the embedded NATS server")
	f.StringVar(&cfg.PoliciesDir, "policies", "/etc/igrid/policies", "policy class directory")
	f.StringVar(&cfg.DefaultClass, "default-class", "engineering", "class of self-registered users")
	f.StringVar(&cfg.Policy, "assign", "least-loaded", "resource-assignment policy: least-loaded, best-fit or spread")
	f.StringSliceVar(&cfg.ReplaceLostClasses, "replace-lost", nil, "classes whose sessions lost with their node get a replacement on another node")
	return cmd
}

func nodeCmd() *cobra.Command {
	var cfg node.Config
	var gssDir string
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Run a node agent: heartbeats, session lifecycle, dynamic accounts and the SSH server",
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Logger = logger().With("node", cfg.Name)
			a, err := node.New(cfg)
			if err != nil {
				return err
			}
			if gssDir != "" {
				data, err := gss.OpenLocal(gssDir, filepath.Join(cfg.DataDir, "cache"), cfg.Name, cfg.Logger)
				if err != nil {
					return fmt.Errorf("gss: %w", err)
				}
				a.UseGSS(data)
			}
			if err := a.Start(); err != nil {
				return err
			}
			waitSignal()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			return a.Shutdown(ctx)
		},
	}
	host, _ := os.Hostname()
	f := cmd.Flags()
	f.StringVar(&cfg.Name, "name", host, "node name")
	f.StringVar(&cfg.Cluster, "cluster", "default", "cluster name")
	f.StringVar(&cfg.NATSURL, "nats-url", "nats://127.0.0.1:4222", "NATS URL of the grid")
	f.StringVar(&cfg.SSHAddr, "ssh-listen", "0.0.0.0:2201", "listen address of the node's SSH server")
	f.StringVar(&cfg.SSHHost, "ssh-host", "", "host name users connect to (default: the listen host)")
	f.StringVar(&cfg.HomeRoot, "home-root", "/var/lib/igrid/homes", "parent directory of dynamic accounts' homes")
	f.StringVar(&cfg.DataDir, "data", "/var/lib/igrid/node", "node state directory (host key)")
	f.StringVar(&cfg.PoliciesDir, "policies", "/etc/igrid/policies", "policy class directory (hot-reloaded)")
	f.BoolVar(&cfg.PoliciesFromDRM, "policies-from-drm", false, "take the policy sets the DRM publishes over NATS instead of --policies")
	f.BoolVar(&cfg.RemoveAccounts, "remove-accounts", false, "delete the pool accounts at shutdown")
	f.StringVar(&gssDir, "gss-dir", "", "directory of the Grid Storage Service (shared by the nodes); empty: users' files are not kept between sessions")
	f.StringVar(&cfg.MetricsAddr, "metrics-listen", "", "serve Prometheus /metrics there (e.g. 127.0.0.1:9101)")
	f.DurationVar(&cfg.SampleInterval, "sample-interval", time.Second, "GMMA monitoring period")
	return cmd
}
