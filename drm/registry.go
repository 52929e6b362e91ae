package drm

import (
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/internal/bus"
	"github.com/igrid/igrid/internal/proto"
	"github.com/nats-io/nats.go"
)

// persistEvery bounds how stale a node's stored last_seen may get while its
// static info does not change.
const persistEvery = 30 * time.Second

// Registry keeps every node's latest heartbeat in memory and its static
// description in the store. A node is online while its last beat is at most
// MissedBeats intervals old.
type Registry struct {
	store    store.Store
	log      *slog.Logger
	interval time.Duration // used when a heartbeat carries none
	// Overlay, when set before Start, amends each list Shared builds (in
	// place, before it is shared): the grid aggregate's loads.
	Overlay func(now time.Time, list []proto.NodeStatus)

	mu      sync.Mutex
	nodes   map[string]*nodeEntry
	sub     *nats.Subscription
	pending map[string]store.Node // latest unsaved registration per node
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}

	gen    uint64         // bumped when what the scheduler indexes changes
	shared sharedStatuses // registry_shared.go
}

type nodeEntry struct {
	status    proto.NodeStatus
	seen      time.Time // when the DRM received the last beat
	interval  time.Duration
	persisted time.Time
	saved     proto.NodeInfo
	savedSSH  proto.SSHConnect
}

// NewRegistry makes an empty registry.
func NewRegistry(st store.Store, interval time.Duration, log *slog.Logger) *Registry {
	return &Registry{store: st, log: log, interval: interval, nodes: map[string]*nodeEntry{},
		pending: map[string]store.Node{}, wake: make(chan struct{}, 1)}
}

// persist writes pending registrations to the store off the heartbeat
// path, so a busy database never delays beats (and never makes a node
// look lost).
func (r *Registry) persist(stop <-chan struct{}) {
	defer close(r.done)
	for {
		select {
		case <-stop:
			return
		case <-r.wake:
		}
		r.mu.Lock()
		batch := r.pending
		r.pending = map[string]store.Node{}
		r.mu.Unlock()
		for name, n := range batch {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := r.store.UpsertNode(ctx, n); err != nil {
				r.log.Error("persist node", "node", name, "err", err)
			}
			cancel()
		}
	}
}

// Start loads the stored nodes (offline until they beat) and subscribes to
// heartbeats.
func (r *Registry) Start(ctx context.Context, nc *nats.Conn) error {
	stored, err := r.store.Nodes(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	for _, n := range stored {
		ssh := proto.SSHConnect{Host: n.SSHHost, Port: n.SSHPort}
		r.nodes[n.Info.Name] = &nodeEntry{
			status: proto.NodeStatus{NodeInfo: n.Info, LastSeen: n.LastSeen, SSH: ssh, Sessions: []string{}},
			seen:   n.LastSeen, interval: r.interval, persisted: n.LastSeen, saved: n.Info, savedSSH: ssh,
		}
	}
	r.mu.Unlock()
	sub, err := nc.Subscribe(bus.HeartbeatWildcard, r.onBeat)
	if err != nil {
		return err
	}
	stop := make(chan struct{})
	r.mu.Lock()
	r.sub, r.stop, r.done = sub, stop, make(chan struct{})
	r.mu.Unlock()
	go r.persist(stop)
	return nil
}

// Stop unsubscribes and stops the persister.
func (r *Registry) Stop() {
	r.mu.Lock()
	if r.sub != nil {
		r.sub.Unsubscribe()
		r.sub = nil
	}
	stop, done := r.stop, r.done
	r.stop = nil
	r.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

func (r *Registry) onBeat(m *nats.Msg) {
	var hb proto.Heartbeat
	if err := json.Unmarshal(m.Data, &hb); err != nil {
		r.log.Warn("bad heartbeat", "subject", m.Subject, "err", err)
		return
	}
	if !proto.ValidName(hb.Node.Name) || bus.HeartbeatSubject(hb.Node.Name) != m.Subject {
		r.log.Warn("heartbeat name does not match its subject", "subject", m.Subject, "node", hb.Node.Name)
		return
	}
	if save, ok := r.record(hb, time.Now().UTC()); ok {
		r.mu.Lock()
		r.pending[save.Info.Name] = save
		r.mu.Unlock()
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// record updates the in-memory entry and says whether to persist it.
func (r *Registry) record(hb proto.Heartbeat, now time.Time) (store.Node, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.nodes[hb.Node.Name]
	if e == nil {
		e = &nodeEntry{}
		r.nodes[hb.Node.Name] = e
	}
	sessions := hb.Sessions
	if sessions == nil {
		sessions = []string{}
	}
	r.noteChange(e, hb, now)
	e.status = proto.NodeStatus{NodeInfo: hb.Node, LastSeen: now, Load: hb.Load, SSH: hb.SSH, Sessions: sessions,
		ReservedAccounts: hb.ReservedAccounts, CachedUsers: hb.CachedUsers}
	e.seen = now
	e.interval = r.interval
	if hb.Interval > 0 {
		e.interval = hb.Interval.D()
	}
	changed := !reflect.DeepEqual(e.saved, hb.Node) || e.savedSSH != hb.SSH
	if !changed && now.Sub(e.persisted) < persistEvery {
		return store.Node{}, false
	}
	e.saved, e.savedSSH, e.persisted = hb.Node, hb.SSH, now
	return store.Node{Info: hb.Node, LastSeen: now, SSHHost: hb.SSH.Host, SSHPort: hb.SSH.Port}, true
}

func (e *nodeEntry) online(now time.Time) bool {
	return !e.seen.IsZero() && now.Sub(e.seen) <= MissedBeats*e.interval
}

// Statuses returns every known node's status at now, sorted by name.
func (r *Registry) Statuses(now time.Time) []proto.NodeStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]proto.NodeStatus, 0, len(r.nodes))
	for _, e := range r.nodes {
		st := e.status
		st.Online = e.online(now)
		st.Applications = slices.Clone(st.Applications)
		st.Sessions = slices.Clone(st.Sessions)
		st.ReservedAccounts = slices.Clone(st.ReservedAccounts)
		st.CachedUsers = slices.Clone(st.CachedUsers)
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b proto.NodeStatus) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Online reports whether node is online at now.
func (r *Registry) Online(node string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.nodes[node]
	return e != nil && e.online(now)
}

// OnlineCount counts the nodes online at now.
func (r *Registry) OnlineCount(now time.Time) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.nodes {
		if e.online(now) {
			n++
		}
	}
	return n
}
