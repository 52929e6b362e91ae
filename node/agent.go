package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/igrid/igrid/accounts"
	"github.com/igrid/igrid/gish"
	"github.com/igrid/igrid/gss"
	"github.com/igrid/igrid/internal/bus"
	"github.com/igrid/igrid/internal/proto"
	"github.com/igrid/igrid/policies"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/procfs"
)

// Agent is one node agent. New, then Start, Ready and finally Shutdown.
//
// Lock order: keys (per session) before mu.
type Agent struct {
	cfg     Config
	log     *slog.Logger
	src     policies.Source   // the policy set in force; ask at every decision
	watcher *policies.Watcher // non-nil when the agent reloads PoliciesDir itself
	// subscriber is non-nil when the policies come from the DRM over NATS.
	subscriber *policies.Subscriber
	accounts   *accounts.Manager
	data       *gss.Cache // nil: no GSS, homes start empty (UseGSS)
	load       *loadSampler
	info       proto.NodeInfo

	ssh     *gish.Server
	sshPort int
	nc      *nats.Conn
	sub     *nats.Subscription
	stop    chan struct{}
	seq     uint64 // heartbeat sequence, touched only by the heartbeat loop
	// cachedUsers (fresh GSS caches here) and when they were read; touched
	// only by the heartbeat loop.
	cachedUsers []string
	cachedAt    time.Time
	cacheMoved  atomic.Bool // a session ended or started: re-read at the next beat
	keys        keyedMutex
	wg          sync.WaitGroup
	started     bool
	gmma        *gmmaNode // GMMA agents, SAC and /metrics (node/gmma.go)

	mu       sync.Mutex
	closing  bool
	sessions map[string]*session
	ended    map[string]endedSession // by user
	shutOnce sync.Once
	shutErr  error
}

// New checks the configuration, loads the policies and reads the node's
// capacity. It starts nothing.
func New(cfg Config) (*Agent, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	src, watcher, subscriber, nc, err := openPolicies(cfg)
	if err != nil {
		return nil, err
	}
	set := src.Current()
	log := cfg.Logger.With("node", cfg.Name)
	if err := os.MkdirAll(cfg.HomeRoot, 0o711); err != nil {
		return nil, fmt.Errorf("node %s: home root: %w", cfg.Name, err)
	}
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return nil, fmt.Errorf("node %s: procfs: %w", cfg.Name, err)
	}
	info, err := ReadCapacity(fs, cfg.Name, cfg.Cluster, cfg.HomeRoot, set)
	if err != nil {
		return nil, fmt.Errorf("node %s: capacity: %w", cfg.Name, err)
	}
	a := &Agent{
		cfg: cfg, log: log, src: src, watcher: watcher, subscriber: subscriber, nc: nc, info: info,
		accounts: accounts.NewManager(accounts.Config{HomeRoot: cfg.HomeRoot, Tag: cfg.AccountTag, Logger: log}),
		load:     &loadSampler{fs: fs, homeRoot: cfg.HomeRoot},
		sessions: map[string]*session{}, ended: map[string]endedSession{},
		stop: make(chan struct{}),
	}
	return a, nil
}

// Info is the node's static description as heartbeats report it.
func (a *Agent) Info() proto.NodeInfo { return a.info }

// Accounts is the agent's account manager.
func (a *Agent) Accounts() *accounts.Manager { return a.accounts }

// Start creates the account pools, starts the SSH server and the NATS
// loops, and publishes a first heartbeat. It does not block.
func (a *Agent) Start() error {
	if err := a.applyPolicy(a.policy()); err != nil {
		return fmt.Errorf("node %s: account pools: %w", a.cfg.Name, err)
	}
	if err := a.startPolicyWatch(); err != nil {
		return fmt.Errorf("node %s: %w", a.cfg.Name, err)
	}
	key, err := loadHostKey(a.cfg.DataDir)
	if err != nil {
		return fmt.Errorf("node %s: %w", a.cfg.Name, err)
	}
	srv, err := gish.NewServer(gish.ServerConfig{
		Addr: a.cfg.SSHAddr, HostKeyPEM: key, Authorizer: a, Exec: a.cfg.GishExec,
		Logger: a.log.With("component", "ssh"), Audit: a.publishAudit,
		OnShellStart: a.joinSessionCgroup,
	})
	if err != nil {
		return fmt.Errorf("node %s: ssh server: %w", a.cfg.Name, err)
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("node %s: ssh server: %w", a.cfg.Name, err)
	}
	a.ssh = srv
	if a.sshPort, err = portOf(srv.Addr()); err != nil {
		return fmt.Errorf("node %s: ssh server: %w", a.cfg.Name, err)
	}
	if err := a.adopt(); err != nil {
		return fmt.Errorf("node %s: re-adopt sessions: %w", a.cfg.Name, err)
	}
	if a.nc == nil {
		a.nc, err = bus.Connect(a.cfg.NATSURL, "igrid-node-"+a.cfg.Name)
	}
	if err != nil {
		return fmt.Errorf("node %s: %w", a.cfg.Name, err)
	}
	if a.sub, err = a.nc.Subscribe(bus.CommandSubject(a.cfg.Name), a.onCommand); err != nil {
		return fmt.Errorf("node %s: subscribe: %w", a.cfg.Name, err)
	}
	if err := a.startGMMA(); err != nil {
		return fmt.Errorf("node %s: gmma: %w", a.cfg.Name, err)
	}
	a.rewatchAdopted()
	a.started = true
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.heartbeatLoop(a.stop)
	}()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.reservationLoop(a.stop)
	}()
	a.log.Info("node agent started", "ssh", srv.Addr(), "nats", a.cfg.NATSURL,
		"privileged", a.accounts.Privileged(), "cores", a.info.CPU.Cores, "memory_mb", a.info.MemoryMB)
	return nil
}

func portOf(addr string) (int, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(p)
}

// Ready returns once the agent is connected to NATS and its command
// subscription is known to the server.
func (a *Agent) Ready(ctx context.Context) error {
	if !a.started {
		return ErrNotStarted
	}
	for !a.nc.IsConnected() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s: not connected to NATS at %s: %w", a.cfg.Name, a.cfg.NATSURL, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	if err := a.nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("node %s: NATS flush: %w", a.cfg.Name, err)
	}
	return nil
}

// SSHAddr is the address the node's SSH server listens on.
func (a *Agent) SSHAddr() string {
	if a.ssh == nil {
		return ""
	}
	return a.ssh.Addr()
}

// Shutdown stops taking commands, ends every running session (killing its
// processes and cleaning its account), stops the SSH server and, with
// Config.RemoveAccounts, deletes the pool accounts. It is safe on an agent
// that never started or started only partly, and safe to call twice.
func (a *Agent) Shutdown(ctx context.Context) error {
	a.shutOnce.Do(func() { a.shutErr = a.shutdown(ctx) })
	return a.shutErr
}

func (a *Agent) shutdown(ctx context.Context) error {
	var errs []error
	if a.sub != nil {
		errs = append(errs, a.sub.Unsubscribe())
	}
	a.mu.Lock()
	a.closing = true
	a.mu.Unlock()
	a.stopPolicyWatch()
	close(a.stop)
	a.wg.Wait()
	if a.ssh != nil {
		for _, id := range a.sessionIDs() {
			errs = append(errs, a.endSession(id, "node shutting down"))
		}
		errs = append(errs, a.ssh.Shutdown(ctx))
	}
	if a.gmma != nil {
		errs = append(errs, a.gmma.shutdown(ctx))
	}
	if a.cfg.RemoveAccounts {
		errs = append(errs, a.accounts.RemoveAll())
	}
	if a.nc != nil {
		a.nc.Close()
	}
	a.log.Info("node agent stopped")
	return errors.Join(errs...)
}
