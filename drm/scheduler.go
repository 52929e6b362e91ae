package drm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/internal/proto"
)

// Scheduler places a session: match → admit (pre-check) → rank on a
// snapshot, then store.Book, which repeats admission and checks the quotas
// inside its transaction so concurrent requests, or DRM processes, can
// never over-commit a node. When nothing fits in the asked window it looks
// for the earliest window the book allows (queue.go).
type Scheduler struct {
	Match StaticMatcher
	Admit CapacityAdmitter
	Rank  Ranker
	Quota func(class string) store.Quota
	// Horizon bounds how far ahead the queueing path looks when the class
	// sets no booking horizon.
	Horizon time.Duration

	store store.Store
	nodes func(now time.Time) []proto.NodeStatus

	profMu   sync.Mutex
	profiles map[string]store.Profile
	profAt   time.Time

	cache bookCache
	index indexCache
	hist  historyCache
}

// DefaultTopK is how many ranked candidates a booking gets to try.
const DefaultTopK = 16

// DefaultHorizon is how far ahead a queued session may be placed when its
// class sets no booking horizon.
const DefaultHorizon = 7 * 24 * time.Hour

// profileTTL is how long the scheduler caches the profiles table.
const profileTTL = 5 * time.Second

// NewScheduler wires the stages in their order, with the least-loaded
// policy and the default weights.
func NewScheduler(st store.Store, nodes func(now time.Time) []proto.NodeStatus) *Scheduler {
	return &Scheduler{Admit: CapacityAdmitter{}, Rank: Ranker{Policy: LeastLoaded{}, Weights: DefaultWeights(), TopK: DefaultTopK},
		Quota: func(string) store.Quota { return store.Quota{} }, Horizon: DefaultHorizon, store: st, nodes: nodes}
}

// Schedule books sess (state requested, window set) and returns it as
// stored: scheduled, queued (to the earliest later window that fits), or
// denied with a *DeniedError or *QuotaDeniedError. The decision trace is
// stored with it.
func (sc *Scheduler) Schedule(ctx context.Context, sess store.Session, now time.Time) (store.Session, error) {
	return sc.schedule(ctx, sess, now, nil, true)
}

// schedule is Schedule leaving out the nodes in exclude, with the class's
// quotas when quotas is set.
func (sc *Scheduler) schedule(ctx context.Context, sess store.Session, now time.Time, exclude []string, quotas bool) (store.Session, error) {
	profiles, err := sc.Profiles(ctx)
	if err != nil {
		return sess, err
	}
	d := DemandWith(&sess.Template, profiles)
	sess.Cores, sess.MemoryMB, sess.CPUPercent, sess.BandwidthKbps = d.Cores, d.MemoryMB, d.CPUPercent, d.BandwidthKbps
	bufs := takePlanBufs()
	defer bufs.release()
	held, statuses, user, err := sc.gather(ctx, sess, now, bufs)
	if err != nil {
		return sess, err
	}
	tr := &Trace{Policy: sc.Rank.Policy.Name(), Weights: sc.Rank.Weights, At: now, Start: sess.Start, End: sess.End,
		Demand: d, PreviousNode: user.PreviousNode, UsualHours: user.UsualHours}
	var matched func() []NodeView
	var ranked []Scored
	if len(exclude) == 0 && sc.indexable() {
		matched, ranked = sc.planIndexed(&sess.Template, sc.index.get(statuses), held, d, user, tr, bufs)
	} else {
		matched, ranked = sc.plan(&sess.Template, snapshotOf(peakMap(held), statuses, user, sess, now, exclude), d, tr)
	}
	if ranked, err = sc.refineHours(ctx, ranked, user, sess, tr); err != nil {
		return sess, fmt.Errorf("usual hours: %w", err)
	}
	var q store.Quota
	if quotas {
		q = sc.Quota(sess.Class)
	}
	if len(ranked) > 0 {
		out, err := sc.book(ctx, sess, ranked, q, now, tr)
		if err == nil || !errors.Is(err, store.ErrNoCapacity) {
			return sc.settle(ctx, out, tr, err)
		}
	}
	if m := matched(); len(m) > 0 {
		out, err := sc.queue(ctx, sess, m, q, now, tr)
		if err == nil || !errors.Is(err, store.ErrNoCapacity) {
			return sc.settle(ctx, out, tr, err)
		}
	}
	return sc.deny(ctx, sess, tr, sc.deniedError(tr))
}

// settle returns a booked session, records a quota refusal as denied, and
// passes other errors on.
func (sc *Scheduler) settle(ctx context.Context, sess store.Session, tr *Trace, err error) (store.Session, error) {
	if err == nil {
		sc.cache.add(sess)
	}
	var qd *QuotaDeniedError
	if errors.As(err, &qd) {
		return sc.deny(ctx, sess, tr, err)
	}
	return sess, err
}

// plan runs the pure stages over snap: the nodes that pass match, and
// those that also pass the admission pre-check, ranked best first.
func (sc *Scheduler) plan(t *proto.Template, snap Snapshot, d store.Capacity, tr *Trace) (matched func() []NodeView, ranked []Scored) {
	// Only the queueing path needs the matched nodes: gather them lazily.
	var unfit []int
	feasible := make([]NodeView, 0, len(snap.Nodes))
	tr.Considered = len(snap.Nodes)
	for i := range snap.Nodes {
		n := &snap.Nodes[i]
		if f, why := sc.Match.MatchBy(t, n); why != "" {
			tr.reject(n.Name, MatchName, f, why)
			continue
		}
		if why := sc.Admit.PreCheck(n, d); why != "" {
			tr.reject(n.Name, AdmitName, "", why)
			unfit = append(unfit, i)
			continue
		}
		feasible = append(feasible, *n)
	}
	matched = func() []NodeView {
		out := make([]NodeView, 0, len(unfit)+len(feasible))
		for _, i := range unfit {
			out = append(out, snap.Nodes[i])
		}
		return append(out, feasible...)
	}
	ranked = sc.Rank.Rank(feasible, d, snap.User)
	for i, s := range ranked {
		nt := tr.node(s.Name)
		nt.Verdict, nt.Rank, nt.Score, nt.Components = VerdictCandidate, i+1, s.Score, s.Components
	}
	return matched, ranked
}

// Plan runs the pure stages over snap: the candidates for Book, best
// first, and the reasons of the nodes left out.
func (sc *Scheduler) Plan(t *proto.Template, snap Snapshot) ([]store.Candidate, []store.Rejection) {
	tr := &Trace{}
	_, ranked := sc.plan(t, snap, Demand(t), tr)
	return candidates(ranked), rejections(tr)
}

func candidates(ranked []Scored) []store.Candidate {
	out := make([]store.Candidate, len(ranked))
	for i, n := range ranked {
		out[i] = store.Candidate{Node: n.Name, Capacity: n.Capacity()}
	}
	return out
}

func rejections(tr *Trace) []store.Rejection {
	var out []store.Rejection
	for _, n := range tr.Nodes {
		if n.Verdict == VerdictRejected {
			out = append(out, store.Rejection{Node: n.Node, Reason: n.Reason})
		}
	}
	slices.SortFunc(out, func(a, b store.Rejection) int { return strings.Compare(a.Node, b.Node) })
	return out
}

// book tries the ranked candidates for the asked window in one Book; the
// trace is completed inside the transaction, naming the node that won.
func (sc *Scheduler) book(ctx context.Context, sess store.Session, ranked []Scored, q store.Quota, now time.Time, tr *Trace) (store.Session, error) {
	sess.State = proto.StateScheduled
	// The trace is encoded before the transaction for the usual outcome —
	// the best candidate wins at once — so that the booking transaction,
	// which every other booking waits for, only encodes the rare others.
	usual := tr.encodeChosen(ranked[0].Name)
	prepare := func(s *store.Session, refused []store.Rejection) {
		for _, r := range refused {
			tr.reject(r.Node, "reserve", "", r.Reason)
		}
		tr.node(s.Node).Verdict = VerdictChosen
		tr.Outcome, tr.Node = string(proto.StateScheduled), s.Node
		if len(refused) == 0 && s.Node == ranked[0].Name {
			s.Trace = usual
			return
		}
		s.Trace = tr.encode()
	}
	node, err := sc.store.Book(ctx, store.BookRequest{Session: sess, Candidates: candidates(ranked),
		Admit: sc.Admit, Quota: q, Now: now, Prepare: prepare})
	var qe *store.QuotaError
	var re *store.ReserveError
	switch {
	case errors.As(err, &qe):
		return sess, &QuotaDeniedError{Err: qe, trace: tr}
	case errors.As(err, &re):
		for _, r := range re.Rejections {
			tr.reject(r.Node, "reserve", "", r.Reason)
		}
		return sess, err
	case err != nil:
		return sess, fmt.Errorf("book: %w", err)
	}
	sess.Node = node
	return sess, nil
}

// deny records sess as denied with the trace and returns err.
func (sc *Scheduler) deny(ctx context.Context, sess store.Session, tr *Trace, err error) (store.Session, error) {
	var qd *QuotaDeniedError
	if errors.As(err, &qd) {
		tr = qd.trace
	}
	tr.Outcome, tr.Node, tr.Reason = string(proto.StateDenied), "", err.Error()
	sess.State, sess.Node, sess.Reason, sess.Trace = proto.StateDenied, "", err.Error(), tr.encode()
	if ierr := sc.store.InsertSession(ctx, sess); ierr != nil {
		return sess, fmt.Errorf("record denied session: %w", ierr)
	}
	return sess, err
}

func (sc *Scheduler) deniedError(tr *Trace) error {
	return &DeniedError{Rejections: rejections(tr)}
}

// snapshot reads node statuses, the peak reserved in sess's window and the
// user's history.
func (sc *Scheduler) snapshot(ctx context.Context, sess store.Session, now time.Time, exclude []string) (Snapshot, error) {
	held, statuses, user, err := sc.gather(ctx, sess, now, nil)
	if err != nil {
		return Snapshot{}, err
	}
	return snapshotOf(peakMap(held), statuses, user, sess, now, exclude), nil
}

// gather reads what a decision works on: the peak reserved per node in
// sess's window (the scheduler's copy of the book; its list in bufs when
// given), the node statuses and the user's history.
func (sc *Scheduler) gather(ctx context.Context, sess store.Session, now time.Time, bufs *planBufs) (peakSet, []proto.NodeStatus, UserHistory, error) {
	var scratch *peakScratch
	if bufs != nil {
		scratch = &bufs.peaks
	}
	held, err := sc.cache.peaks(ctx, sc.store, sess.Start, sess.End, scratch)
	if err != nil {
		return peakSet{}, nil, UserHistory{}, fmt.Errorf("reserved capacity: %w", err)
	}
	statuses := sc.nodes(now)
	user, err := sc.history(ctx, sess)
	if err != nil {
		return peakSet{}, nil, UserHistory{}, fmt.Errorf("user history: %w", err)
	}
	return held, statuses, user, nil
}

// snapshotOf views every status but those in exclude.
func snapshotOf(held map[string]store.Capacity, statuses []proto.NodeStatus, user UserHistory, sess store.Session, now time.Time, exclude []string) Snapshot {
	snap := Snapshot{Now: now, Start: sess.Start, End: sess.End, Nodes: make([]NodeView, 0, len(statuses)), User: user}
	for i := range statuses {
		st := &statuses[i]
		if slices.Contains(exclude, st.Name) {
			continue
		}
		snap.Nodes = append(snap.Nodes, NodeView{NodeStatus: st, Reserved: held[st.Name]})
	}
	return snap
}

// Profiles returns the application profiles by name, cached briefly.
func (sc *Scheduler) Profiles(ctx context.Context) (map[string]store.Profile, error) {
	sc.profMu.Lock()
	defer sc.profMu.Unlock()
	if sc.profiles != nil && time.Since(sc.profAt) < profileTTL {
		return sc.profiles, nil
	}
	list, err := sc.store.Profiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("profiles: %w", err)
	}
	m := make(map[string]store.Profile, len(list))
	for _, p := range list {
		m[p.App] = p
	}
	sc.profiles, sc.profAt = m, time.Now()
	return m, nil
}

// mustJSON marshals plain data, without HTML escaping so that reasons
// read as written ("cores 1 > free 0").
func mustJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only plain data structures are marshalled
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}
