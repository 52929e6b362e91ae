package drm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/internal/bus"
	"github.com/igrid/igrid/internal/proto"
	"github.com/igrid/igrid/policies"
	"github.com/nats-io/nats.go"
)

// Reasons the dispatcher writes on sessions.
const (
	ReasonUsageOver   = "usage time over"
	ReasonEndedByUser = "ended by user"
	ReasonCancelled   = "cancelled by user"
	ReasonInterrupted = "start interrupted by a DRM restart"
)

// Dispatcher starts sessions on their nodes at start time and ends them at
// end time, over NATS request/reply. Every round trip runs in its own
// goroutine outside any store transaction; a session is never dispatched
// twice at once.
type Dispatcher struct {
	store store.Store
	nc    *nats.Conn
	pol   policies.Source
	reg   *Registry
	log   *slog.Logger
	tick  time.Duration

	// Failover (dispatch_failover.go); nil fields disable each part.
	failover Failover
	// Running, when set, is told the user of each session that starts
	// running (the scheduler forgets their cached history).
	Running func(user string)
	started time.Time

	mu       sync.Mutex
	inflight map[string]bool
	wg       sync.WaitGroup
	stop     chan struct{}
	done     chan struct{}
	kick     chan struct{}
}

// NewDispatcher makes a dispatcher; Start runs it.
func NewDispatcher(st store.Store, nc *nats.Conn, pol policies.Source, reg *Registry, tick time.Duration, log *slog.Logger) *Dispatcher {
	return &Dispatcher{store: st, nc: nc, pol: pol, reg: reg, tick: tick, log: log,
		inflight: map[string]bool{}, stop: make(chan struct{}), done: make(chan struct{}),
		kick: make(chan struct{}, 1), started: time.Now().UTC()}
}

// Start runs the tick loop in a goroutine.
func (d *Dispatcher) Start() {
	go func() {
		defer close(d.done)
		t := time.NewTicker(d.tick)
		defer t.Stop()
		for {
			d.Tick(time.Now().UTC())
			select {
			case <-d.stop:
				return
			case <-t.C:
			case <-d.kick:
			}
		}
	}()
}

// Kick asks for a tick now, so that a session booked for "now" starts
// without waiting for the next period. It never blocks.
func (d *Dispatcher) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Stop ends the loop and waits for in-flight round trips or ctx.
func (d *Dispatcher) Stop(ctx context.Context) error {
	close(d.stop)
	<-d.done
	waited := make(chan struct{})
	go func() { d.wg.Wait(); close(waited) }()
	select {
	case <-waited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Tick launches the work due at now: starts of scheduled sessions whose
// start has come, ends of running sessions whose end has come, and ends of
// sessions left in ending.
func (d *Dispatcher) Tick(now time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if !d.leading(ctx) {
		return
	}
	// Every session with work due has started its window: bookings ahead
	// are not read at all.
	due, err := d.store.Sessions(ctx, store.SessionFilter{StartBy: now,
		States: []proto.State{proto.StateQueued, proto.StateScheduled, proto.StateStarting, proto.StateRunning, proto.StateEnding}})
	if err != nil {
		d.log.Error("dispatcher: list sessions", "err", err)
		return
	}
	for _, s := range due {
		switch {
		case s.State == proto.StateQueued && !s.Start.After(now):
			d.launch(s.ID, func() { d.startQueued(s) })
		case s.State == proto.StateRunning && s.End.After(now) && d.nodeLost(s.Node, now):
			d.launch(s.ID, func() { d.lost(s, now) })
		case s.State == proto.StateScheduled && !s.Start.After(now):
			d.launch(s.ID, func() { d.startSession(s) })
		case s.State == proto.StateRunning && !s.End.After(now):
			d.launch(s.ID, func() { d.endSession(s, ReasonUsageOver) })
		case s.State == proto.StateEnding:
			d.launch(s.ID, func() { d.endSession(s, s.Reason) })
		case s.State == proto.StateStarting && now.Sub(s.Updated) > 2*CommandTimeout:
			// No round trip can still be waiting: the DRM stopped mid-start.
			d.launch(s.ID, func() { d.interrupted(s) })
		}
	}
}

// launch runs fn in a goroutine unless session id already has one.
func (d *Dispatcher) launch(id string, fn func()) bool {
	if !d.acquire(id) {
		return false
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer d.release(id)
		defer func() {
			if p := recover(); p != nil {
				d.log.Error("dispatcher panic", "session", id, "panic", p, "stack", string(debug.Stack()))
			}
		}()
		fn()
	}()
	return true
}

func (d *Dispatcher) acquire(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.inflight[id] {
		return false
	}
	d.inflight[id] = true
	return true
}

func (d *Dispatcher) release(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.inflight, id)
}

// EndNow ends a running (or ending) session at once and waits for the
// node's answer. It reports false, doing nothing, when a round trip for
// the session is already under way.
func (d *Dispatcher) EndNow(s store.Session, reason string) bool {
	if !d.acquire(s.ID) {
		return false
	}
	d.wg.Add(1)
	defer d.wg.Done()
	defer d.release(s.ID)
	d.endSession(s, reason)
	return true
}

// startSession: scheduled → starting → (node) → running | failed.
func (d *Dispatcher) startSession(s store.Session) {
	ctx := context.Background()
	log := d.log.With("session", s.ID, "node", s.Node)
	if _, err := d.store.Transition(ctx, s.ID, proto.StateScheduled, store.Change{To: proto.StateStarting}); err != nil {
		log.Info("start skipped", "err", err)
		return
	}
	cmd, err := d.startCommand(ctx, s)
	if err == nil {
		var reply proto.CommandReply
		reply, err = d.request(ctx, s.Node, cmd)
		if err == nil {
			conn := reply.Connect
			_, err = d.store.Transition(ctx, s.ID, proto.StateStarting,
				store.Change{To: proto.StateRunning, Account: reply.Account, Connect: &conn})
			if errors.Is(err, store.ErrStateChanged) {
				log.Info("session changed while starting; the next tick ends it", "err", err)
				return
			}
			if err == nil {
				log.Info("session running", "account", reply.Account)
				if d.Running != nil {
					d.Running(s.User)
				}
				return
			}
		}
	}
	if d.unreachable(s.Node, err) && d.nextCandidate(s, err) {
		return
	}
	reason := fmt.Sprintf("start on %s failed: %v", s.Node, err)
	log.Warn("start failed", "err", err)
	if _, err := d.store.Transition(ctx, s.ID, proto.StateStarting, store.Change{To: proto.StateFailed, Reason: reason}); err != nil {
		log.Info("could not mark failed", "err", err)
	}
}

// interrupted ends a session whose start was cut short by a DRM stop: the
// node may or may not have opened it, and end is idempotent there.
func (d *Dispatcher) interrupted(s store.Session) {
	cur, err := d.store.Transition(context.Background(), s.ID, proto.StateStarting,
		store.Change{To: proto.StateEnding, Reason: ReasonInterrupted})
	if err != nil {
		d.log.Info("interrupted start: skipped", "session", s.ID, "err", err)
		return
	}
	d.endSession(cur, ReasonInterrupted)
}

// startCommand builds the StartSession with the user's keys and the SLA.
func (d *Dispatcher) startCommand(ctx context.Context, s store.Session) (proto.Command, error) {
	u, err := d.store.User(ctx, s.User)
	if err != nil {
		return proto.Command{}, err
	}
	maxProcs := 0
	if c, ok := d.pol.Current().Class(s.Class); ok {
		maxProcs = c.Session.MaxProcesses
	}
	t := s.Template
	return proto.Command{Op: proto.OpStart, Start: &proto.StartSession{
		SessionID: s.ID, User: s.User, Class: s.Class, Start: s.Start, End: s.End,
		SLA: proto.SLA{UsageTime: t.UsageTime, MaxProcesses: maxProcs, DiskMB: t.DiskMB,
			MemoryMB: t.MemoryMB, CPUPercent: t.QoS.CPUPercent, BandwidthKbps: t.QoS.BandwidthKbps},
		AuthorizedKeys: u.SSHKeys, Desktop: t.Desktop,
	}}, nil
}

// endSession: running → ending → (node) → ended | failed | lost.
func (d *Dispatcher) endSession(s store.Session, reason string) {
	ctx := context.Background()
	log := d.log.With("session", s.ID, "node", s.Node)
	if s.State == proto.StateRunning {
		cur, err := d.store.Transition(ctx, s.ID, proto.StateRunning, store.Change{To: proto.StateEnding, Reason: reason})
		if err != nil {
			log.Info("end skipped", "err", err)
			return
		}
		s = cur
	} else if cur, err := d.store.Session(ctx, s.ID); err != nil || cur.State != proto.StateEnding {
		// s came from an older snapshot; another round trip finished it.
		return
	}
	_, err := d.request(ctx, s.Node, proto.Command{Op: proto.OpEnd, End: &proto.EndSession{SessionID: s.ID, Reason: reason}})
	change := store.Change{To: proto.StateEnded}
	if err != nil {
		change = store.Change{To: proto.StateFailed, Reason: fmt.Sprintf("end on %s failed: %v", s.Node, err)}
		if !d.reg.Online(s.Node, time.Now().UTC()) {
			change = store.Change{To: proto.StateLost, Reason: fmt.Sprintf("node %s offline at end: %v", s.Node, err)}
		}
		log.Warn("end failed", "err", err)
	}
	if _, err := d.store.Transition(ctx, s.ID, proto.StateEnding, change); err != nil {
		log.Info("could not record end", "err", err)
		return
	}
	log.Info("session "+string(change.To), "reason", reason)
}

// request sends cmd to node and decodes the reply; a reply with Error set
// is an error.
func (d *Dispatcher) request(ctx context.Context, node string, cmd proto.Command) (proto.CommandReply, error) {
	var reply proto.CommandReply
	data, err := json.Marshal(cmd)
	if err != nil {
		return reply, err
	}
	ctx, cancel := context.WithTimeout(ctx, CommandTimeout)
	defer cancel()
	msg, err := d.nc.RequestWithContext(ctx, bus.CommandSubject(node), data)
	if err != nil {
		return reply, fmt.Errorf("no answer from node %s: %w", node, err)
	}
	if err := json.Unmarshal(msg.Data, &reply); err != nil {
		return reply, fmt.Errorf("bad reply from node %s: %w", node, err)
	}
	if reply.Error != "" {
		return reply, errors.New(reply.Error)
	}
	return reply, nil
}
