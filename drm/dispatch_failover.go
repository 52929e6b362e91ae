package drm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/internal/proto"
	"github.com/nats-io/nats.go"
)

// Reasons of failover.
const (
	ReasonNodeLost      = "node lost"
	ReasonNoAnswer      = "node did not answer"
	ReasonReplacement   = "replacement of"
	ReasonNoReplacement = "no replacement"
	// ReasonReplacementVoid ends a replacement booked for a session that
	// turned out not to be lost (it changed state meanwhile).
	ReasonReplacementVoid = "replacement not needed: the session changed before it was marked lost"
)

// Failover is what the dispatcher needs beyond the book to survive nodes
// and DRM processes that fail.
type Failover struct {
	// Lead reports whether this DRM may dispatch now (one leader among
	// DRM processes sharing PostgreSQL); nil means always.
	Lead func(ctx context.Context) bool
	// Rebook moves s to the best other node for its window, leaving out
	// exclude, and returns that node.
	Rebook func(ctx context.Context, s store.Session, exclude []string) (string, error)
	// Replace books a replacement for s, lost with its node, from now to
	// s's end on another node, and returns it.
	Replace func(ctx context.Context, s store.Session, now time.Time) (store.Session, error)
	// ReplaceLost says whether a class's lost sessions are replaced.
	ReplaceLost func(class string) bool
	// Grace is how long after the dispatcher starts nodes are given to
	// beat before their sessions can be declared lost.
	Grace time.Duration
}

// SetFailover installs f; call before Start.
func (d *Dispatcher) SetFailover(f Failover) { d.failover = f }

func (d *Dispatcher) leading(ctx context.Context) bool {
	return d.failover.Lead == nil || d.failover.Lead(ctx)
}

// startQueued: queued, start ≤ now → scheduled, then started at once.
func (d *Dispatcher) startQueued(s store.Session) {
	cur, err := d.store.Transition(context.Background(), s.ID, proto.StateQueued,
		store.Change{To: proto.StateScheduled, Reason: "its queued start came"})
	if err != nil {
		d.log.Info("queued start skipped", "session", s.ID, "err", err)
		return
	}
	d.startSession(cur)
}

// nodeLost reports whether node missed MissedBeats heartbeats, once the
// grace after the dispatcher's start has passed.
func (d *Dispatcher) nodeLost(node string, now time.Time) bool {
	if now.Sub(d.started) < d.failover.Grace {
		return false
	}
	return !d.reg.Online(node, now)
}

// lost marks s lost with the reason and, when its class allows, books a
// replacement on another node first so the reason can name it.
func (d *Dispatcher) lost(s store.Session, now time.Time) {
	ctx := context.Background()
	log := d.log.With("session", s.ID, "node", s.Node)
	// s comes from a tick's snapshot, which may predate another tick's
	// handling of the same loss (launch only keeps two from running at
	// once): look again before booking a replacement.
	if cur, err := d.store.Session(ctx, s.ID); err != nil || cur.State != proto.StateRunning || cur.Node != s.Node {
		log.Info("lost: already handled", "err", err)
		return
	}
	reason := fmt.Sprintf("%s: %s missed %d heartbeats", ReasonNodeLost, s.Node, MissedBeats)
	var repl store.Session
	var rerr error
	if d.failover.Replace != nil && d.failover.ReplaceLost != nil && d.failover.ReplaceLost(s.Class) {
		repl, rerr = d.failover.Replace(ctx, s, now)
		if rerr == nil {
			reason += fmt.Sprintf("; replacement session %s booked on %s (data from the last saved copy)", repl.ID, repl.Node)
		} else {
			reason += fmt.Sprintf("; %s: %v", ReasonNoReplacement, rerr)
		}
	}
	if _, err := d.store.Transition(ctx, s.ID, proto.StateRunning, store.Change{To: proto.StateLost, Reason: reason}); err != nil {
		log.Info("lost: skipped", "err", err)
		if rerr == nil && repl.ID != "" { // the session moved on: take the replacement back
			d.store.Transition(ctx, repl.ID, repl.State, store.Change{To: proto.StateEnded, Reason: ReasonReplacementVoid})
		}
		return
	}
	log.Warn("session lost", "reason", reason)
	if repl.ID != "" && !repl.Start.After(now) {
		d.Kick()
	}
}

// unreachable reports whether err means the node never took the start:
// nobody answers on its subject, or it is offline.
func (d *Dispatcher) unreachable(node string, err error) bool {
	return errors.Is(err, nats.ErrNoResponders) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, nats.ErrTimeout) || !d.reg.Online(node, time.Now().UTC())
}

// nextCandidate moves a session whose node did not answer its start to the
// next candidate, which the next tick starts. It reports whether it did.
func (d *Dispatcher) nextCandidate(s store.Session, cause error) bool {
	if d.failover.Rebook == nil {
		return false
	}
	ctx := context.Background()
	s.State = proto.StateStarting // startSession moved it there
	node, err := d.failover.Rebook(ctx, s, []string{s.Node})
	if err != nil {
		d.log.Warn("no next candidate", "session", s.ID, "node", s.Node, "err", err)
		return false
	}
	d.log.Warn("node did not answer; session moved", "session", s.ID, "from", s.Node, "to", node, "err", cause)
	d.Kick()
	return true
}
