package policies

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// NATS subjects of policy distribution.
const (
	// SubjectSet carries every new set the DRM applies (a Bundle).
	SubjectSet = "igrid.policy.set"
	// SubjectGet is request/reply: the answer is the DRM's current Bundle.
	SubjectGet = "igrid.policy.get"
)

// Bundle is a policy set on the wire: its class files, their content hash,
// and a sequence number that only grows, so that a node can tell a newer
// publication from a replayed older one even when the content is the same.
type Bundle struct {
	Version string            `json:"version"`
	Seq     uint64            `json:"seq"`
	Files   map[string][]byte `json:"files"`
}

// Publisher sends the DRM's policy set to node agents over NATS.
type Publisher struct {
	nc  *nats.Conn
	log *slog.Logger

	mu  sync.Mutex
	cur *Bundle
	sub *nats.Subscription
}

// NewPublisher returns a publisher on nc; call Start, then Publish.
func NewPublisher(nc *nats.Conn, log *slog.Logger) *Publisher {
	if log == nil {
		log = slog.Default()
	}
	return &Publisher{nc: nc, log: log.With("component", "policies.publisher")}
}

// Start answers SubjectGet requests with the current bundle.
func (p *Publisher) Start() error {
	sub, err := p.nc.Subscribe(SubjectGet, func(m *nats.Msg) {
		p.mu.Lock()
		b := p.cur
		p.mu.Unlock()
		if b == nil {
			return // nothing published yet: let the requester time out
		}
		data, err := json.Marshal(b)
		if err == nil {
			err = m.Respond(data)
		}
		if err != nil {
			p.log.Warn("policy get reply failed", "err", err)
		}
	})
	if err != nil {
		return fmt.Errorf("policies: subscribe %s: %w", SubjectGet, err)
	}
	p.mu.Lock()
	p.sub = sub
	p.mu.Unlock()
	return p.nc.Flush()
}

// Publish announces set. A set with the version already published is not
// sent again; a new one gets a sequence number above every earlier one
// (wall-clock nanoseconds, or the last plus one).
func (p *Publisher) Publish(set *Set) error {
	p.mu.Lock()
	if p.cur != nil && p.cur.Version == set.Version() {
		p.mu.Unlock()
		return nil
	}
	seq := uint64(time.Now().UnixNano())
	if p.cur != nil && seq <= p.cur.Seq {
		seq = p.cur.Seq + 1
	}
	b := &Bundle{Version: set.Version(), Seq: seq, Files: set.Sources()}
	p.cur = b
	p.mu.Unlock()
	data, err := json.Marshal(b)
	if err != nil {
		return err
	}
	if err := p.nc.Publish(SubjectSet, data); err != nil {
		return fmt.Errorf("policies: publish: %w", err)
	}
	p.log.Info("policy set published", "version", b.Version, "seq", b.Seq)
	return p.nc.Flush()
}

// Shutdown stops answering requests.
func (p *Publisher) Shutdown() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sub != nil {
		_ = p.sub.Unsubscribe()
		p.sub = nil
	}
}

// SubscriberConfig configures a node's Subscriber.
type SubscriberConfig struct {
	// StateFile keeps the newest bundle seen, so that after a restart the
	// node starts from it and never runs an older set. Empty: memory only.
	StateFile string
	Logger    *slog.Logger
}

// Subscriber receives policy sets from the DRM. It compiles and checks each
// bundle (content hash included) and applies it only if its sequence number
// is above every one seen: a node never goes back to an older set.
type Subscriber struct {
	nc  *nats.Conn
	cfg SubscriberConfig
	log *slog.Logger
	cur atomic.Pointer[Set]

	mu      sync.Mutex
	seq     uint64
	lastErr error
	subs    []func(*Set)
	sub     *nats.Subscription
	ready   chan struct{}
	readyOn sync.Once
}

// NewSubscriber returns a subscriber on nc, starting from cfg.StateFile when
// it holds a valid bundle.
func NewSubscriber(nc *nats.Conn, cfg SubscriberConfig) (*Subscriber, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Subscriber{nc: nc, cfg: cfg, log: cfg.Logger.With("component", "policies.subscriber"),
		ready: make(chan struct{})}
	if cfg.StateFile == "" {
		return s, nil
	}
	data, err := os.ReadFile(cfg.StateFile)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	} else if err != nil {
		return nil, fmt.Errorf("policies: state: %w", err)
	}
	var b Bundle
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("policies: state %s: %w", cfg.StateFile, err)
	}
	if err := s.apply(&b, false); err != nil {
		return nil, fmt.Errorf("policies: state %s: %w", cfg.StateFile, err)
	}
	return s, nil
}

// Start subscribes to SubjectSet and asks the DRM for its current set.
// No answer (no DRM yet) is not an error: the set arrives when published.
func (s *Subscriber) Start() error {
	sub, err := s.nc.Subscribe(SubjectSet, func(m *nats.Msg) { s.receive(m.Data) })
	if err != nil {
		return fmt.Errorf("policies: subscribe %s: %w", SubjectSet, err)
	}
	s.mu.Lock()
	s.sub = sub
	s.mu.Unlock()
	if err := s.nc.Flush(); err != nil {
		return err
	}
	reply, err := s.nc.Request(SubjectGet, nil, 2*time.Second)
	switch {
	case err == nil:
		s.receive(reply.Data)
	case errors.Is(err, nats.ErrNoResponders), errors.Is(err, nats.ErrTimeout):
		s.log.Info("no policy publisher answered yet; waiting for one", "err", err)
	default:
		return fmt.Errorf("policies: request %s: %w", SubjectGet, err)
	}
	return nil
}

func (s *Subscriber) receive(data []byte) {
	var b Bundle
	if err := json.Unmarshal(data, &b); err != nil {
		s.fail(fmt.Errorf("policies: bad bundle: %w", err))
		return
	}
	if err := s.apply(&b, true); err != nil {
		s.fail(err)
	}
}

func (s *Subscriber) fail(err error) {
	s.mu.Lock()
	s.lastErr = err
	s.mu.Unlock()
	s.log.Error("policy bundle rejected; the current set stays in force", "err", err)
}

// apply checks b and makes it current if it is newer than anything seen.
func (s *Subscriber) apply(b *Bundle, persist bool) error {
	set, subs, err := s.swap(b, persist)
	if err != nil || set == nil {
		return err
	}
	for _, fn := range subs {
		fn(set)
	}
	s.log.Info("policy set applied", "version", b.Version, "seq", b.Seq)
	return nil
}

// swap does apply's work under the lock and returns whom to tell.
func (s *Subscriber) swap(b *Bundle, persist bool) (*Set, []func(*Set), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b.Seq <= s.seq {
		s.log.Debug("older or repeated policy bundle ignored", "seq", b.Seq, "have", s.seq)
		return nil, nil, nil
	}
	set, err := LoadFiles(b.Files)
	if err != nil {
		return nil, nil, fmt.Errorf("policies: bundle %s (seq %d) does not compile: %w", b.Version, b.Seq, err)
	}
	if set.Version() != b.Version {
		return nil, nil, fmt.Errorf("policies: bundle claims %s but its files hash to %s", b.Version, set.Version())
	}
	if persist && s.cfg.StateFile != "" {
		if err := writeState(s.cfg.StateFile, b); err != nil {
			return nil, nil, err
		}
	}
	s.seq, s.lastErr = b.Seq, nil
	s.cur.Store(set)
	s.readyOn.Do(func() { close(s.ready) })
	return set, append([]func(*Set){}, s.subs...), nil
}

func writeState(path string, b *Bundle) error {
	data, err := json.Marshal(b)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".policy-state-*")
	if err != nil {
		return fmt.Errorf("policies: state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("policies: state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("policies: state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Ready waits until a set is in force.
func (s *Subscriber) Ready(ctx context.Context) error {
	select {
	case <-s.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("policies: no policy set received: %w", ctx.Err())
	}
}

// Current is the set in force, nil until Ready.
func (s *Subscriber) Current() *Set { return s.cur.Load() }

// Seq is the sequence number of the set in force.
func (s *Subscriber) Seq() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seq
}

// LastError is the error of the last rejected bundle, nil after a success.
func (s *Subscriber) LastError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

// Subscribe calls fn with every set applied (fn must not block long).
func (s *Subscriber) Subscribe(fn func(*Set)) {
	s.mu.Lock()
	s.subs = append(s.subs, fn)
	s.mu.Unlock()
}

// Shutdown stops receiving; Current keeps answering.
func (s *Subscriber) Shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sub != nil {
		_ = s.sub.Unsubscribe()
		s.sub = nil
	}
}
