package devgrid

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"time"

	"github.com/igrid/igrid/drm"
	"github.com/igrid/igrid/gss"
	"github.com/igrid/igrid/internal/bus"
	"github.com/igrid/igrid/node"
	"github.com/igrid/igrid/policies"
	"github.com/igrid/igrid/webportal"
)

// Grid is a running dev grid.
type Grid struct {
	cfg   Config
	Info  Info
	nats  *bus.Embedded
	drm   *drm.Server
	nodes []*node.Agent
	http  *http.Server
	ln    net.Listener
}

// Privileged reports whether dev sessions get real dynamic accounts (root)
// or run as the invoking user.
func Privileged() bool { return os.Geteuid() == 0 }

// Start brings up the whole grid and returns when it is ready: nodes online,
// users made, dev.json written, and the demo session running if asked.
// On error everything already started is stopped again.
func Start(ctx context.Context, cfg Config) (g *Grid, err error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	g = &Grid{cfg: cfg}
	defer func() {
		if err != nil {
			g.Shutdown(context.Background())
			g = nil
		}
	}()
	steps := []func(context.Context) error{
		g.prepareDir, g.startNATS, g.startDRM, g.startHTTP, g.makeUsers, g.startNodes, g.waitNodes,
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return g, err
		}
	}
	if cfg.DemoSession {
		if err := g.bookDemo(ctx); err != nil {
			return g, err
		}
	}
	return g, g.Info.write(cfg.DataDir)
}

func (g *Grid) prepareDir(context.Context) error {
	dir, err := filepath.Abs(g.cfg.DataDir)
	if err != nil {
		return err
	}
	g.cfg.DataDir = dir
	// 0711: dynamic accounts must traverse to their homes below; nothing
	// here is listable by them. Secrets inside are 0600.
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		return err
	}
	// The database is per run: a dev grid starts clean, but policy edits
	// in DIR/policies survive.
	for _, f := range []string{"drm.db", "drm.db-wal", "drm.db-shm"} {
		os.Remove(filepath.Join(dir, f))
	}
	g.Info.PoliciesDir = filepath.Join(dir, "policies")
	return policies.WriteExamples(g.Info.PoliciesDir)
}

func (g *Grid) startNATS(context.Context) error {
	e, err := bus.StartEmbedded(bus.EmbeddedConfig{Host: "127.0.0.1", Port: -1,
		StoreDir: filepath.Join(g.cfg.DataDir, "nats")})
	g.nats = e
	return err
}

func (g *Grid) startDRM(ctx context.Context) error {
	set, err := policies.LoadDir(g.Info.PoliciesDir)
	if err != nil {
		return fmt.Errorf("policies in %s: %w", g.Info.PoliciesDir, err)
	}
	s, err := drm.New(drm.Config{
		Listen: "127.0.0.1:0", DBPath: filepath.Join(g.cfg.DataDir, "drm.db"),
		NATSURL: g.nats.URL(), Policies: set, PoliciesDir: g.Info.PoliciesDir,
		DefaultClass: "engineering", Heartbeat: g.cfg.Heartbeat, Tick: g.cfg.Tick,
		Logger: g.cfg.Logger.With("component", "drm"),
	})
	if err != nil {
		return err
	}
	g.drm = s
	if err := s.Start(); err != nil {
		return err
	}
	return s.Ready(ctx)
}

func (g *Grid) startHTTP(context.Context) error {
	ln, err := net.Listen("tcp", g.cfg.Listen)
	if err != nil {
		return fmt.Errorf("portal listen %s: %w", g.cfg.Listen, err)
	}
	g.ln = ln
	base := "http://" + ln.Addr().String()
	g.Info.PortalURL = base + "/"
	g.Info.APIURL = base + "/api/v1"
	portal, err := webportal.New(webportal.Config{APIURL: g.Info.APIURL,
		Logger: g.cfg.Logger.With("component", "portal")})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", g.drm.Handler())
	mux.Handle("/metrics", g.drm.MetricsHandler())
	mux.Handle("/", portal)
	g.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go g.http.Serve(ln)
	return nil
}

func (g *Grid) startNodes(ctx context.Context) error {
	set, err := policies.LoadDir(g.Info.PoliciesDir)
	if err != nil {
		return err
	}
	// Dynamic accounts reach their session's policy file and the SAC
	// socket below each node's data directory: traversable, not listable.
	nodesDir := filepath.Join(g.cfg.DataDir, "nodes")
	if err := os.MkdirAll(nodesDir, 0o711); err != nil {
		return err
	}
	if err := os.Chmod(nodesDir, 0o711); err != nil {
		return err
	}
	for i := 0; i < g.cfg.Nodes; i++ {
		name := NodeName(i)
		sshAddr := "127.0.0.1:0"
		if g.cfg.SSHBasePort > 0 {
			sshAddr = fmt.Sprintf("127.0.0.1:%d", g.cfg.SSHBasePort+i)
		}
		a, err := node.New(node.Config{
			Name: name, Cluster: "dev", NATSURL: g.nats.URL(), SSHAddr: sshAddr,
			HomeRoot: filepath.Join(g.cfg.DataDir, "homes", name),
			DataDir:  filepath.Join(g.cfg.DataDir, "nodes", name),
			Policies: set, PoliciesDir: g.Info.PoliciesDir, AccountTag: g.cfg.AccountTag + string(rune('a'+i)),
			Heartbeat: g.cfg.Heartbeat, GishExec: g.cfg.GishExec, RemoveAccounts: true,
			Logger: g.cfg.Logger.With("component", "node", "node", name),
		})
		if err != nil {
			return fmt.Errorf("node %s: %w", name, err)
		}
		// Every dev node shares one local GSS store, so a user's files
		// follow them from node to node; each node keeps its own cache.
		data, err := gss.OpenLocal(filepath.Join(g.cfg.DataDir, "gss"),
			filepath.Join(g.cfg.DataDir, "nodes", name, "cache"), name, g.cfg.Logger.With("component", "gss", "node", name))
		if err != nil {
			return fmt.Errorf("node %s: gss: %w", name, err)
		}
		a.UseGSS(data)
		g.nodes = append(g.nodes, a)
		if err := a.Start(); err != nil {
			return fmt.Errorf("node %s: %w", name, err)
		}
		if err := a.Ready(ctx); err != nil {
			return fmt.Errorf("node %s: %w", name, err)
		}
		g.Info.Nodes = append(g.Info.Nodes, name)
	}
	return nil
}

// Shutdown stops nodes (ending their sessions and removing the accounts they
// made), then the HTTP server, the DRM and NATS. It is safe on a partly
// started grid.
func (g *Grid) Shutdown(ctx context.Context) error {
	var errs []error
	for i := len(g.nodes) - 1; i >= 0; i-- {
		errs = append(errs, g.nodes[i].Shutdown(ctx))
	}
	if g.http != nil {
		errs = append(errs, g.http.Shutdown(ctx))
	}
	if g.drm != nil {
		errs = append(errs, g.drm.Shutdown(ctx))
	}
	if g.nats != nil {
		g.nats.Shutdown()
	}
	return errors.Join(errs...)
}

// RunningAs describes who sessions run as, for the start-up banner.
func RunningAs() string {
	if Privileged() {
		return "root: sessions get real pooled dynamic accounts (useradd)"
	}
	u, _ := user.Current()
	name := "?"
	if u != nil {
		name = u.Username
	}
	return fmt.Sprintf("NOT root: every session runs as %s (no dynamic accounts); GISH still enforces each class's policy", name)
}

// DataDir is the grid's absolute data directory.
func (g *Grid) DataDir() string { return g.cfg.DataDir }
