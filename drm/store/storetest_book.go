package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/igrid/igrid/internal/proto"
)

func runBookSuite(t *testing.T, newStore func(t *testing.T) Store) {
	t.Run("Quotas", func(t *testing.T) { suiteQuotas(t, newStore(t)) })
	t.Run("QueuedHolds", func(t *testing.T) { suiteQueuedHolds(t, newStore(t)) })
	t.Run("Extend", func(t *testing.T) { suiteExtend(t, newStore(t)) })
	t.Run("Profiles", func(t *testing.T) { suiteProfiles(t, newStore(t)) })
	t.Run("TraceStored", func(t *testing.T) { suiteTrace(t, newStore(t)) })
	t.Run("Move", func(t *testing.T) { suiteMove(t, newStore(t)) })
	t.Run("BookChanges", func(t *testing.T) { suiteBookChanges(t, newStore(t)) })
	t.Run("BookChangesConcurrent", func(t *testing.T) { suiteBookChangesConcurrent(t, newStore(t)) })
}

var bigNode = []Candidate{{Node: "node-a", Capacity: Capacity{Cores: 64, MemoryMB: 1 << 20}}}

func suiteQuotas(t *testing.T, st Store) {
	defer st.Close()
	ctx := context.Background()
	now := suiteT0.Add(-time.Hour)
	book := func(id, user, class string, start time.Time, d time.Duration, q Quota) error {
		s := suiteSession(id, user, start, d, 1, 0)
		s.Class = class
		_, err := st.Book(ctx, BookRequest{Session: s, Candidates: bigNode, Admit: suiteAdmitter{}, Quota: q, Now: now})
		return err
	}
	h := time.Hour
	steps := []struct {
		name, id, user, class string
		start                 time.Duration
		d                     time.Duration
		q                     Quota
		limit                 string // "" = booked
	}{
		{"first", "q1", "alice", "eng", 0, h, Quota{MaxConcurrent: 1}, ""},
		{"overlapping second refused", "q2", "alice", "eng", 30 * time.Minute, h, Quota{MaxConcurrent: 1}, QuotaConcurrent},
		{"later second fits", "q3", "alice", "eng", 2 * h, h, Quota{MaxConcurrent: 1}, ""},
		{"third in the day refused", "q4", "alice", "eng", 4 * h, h, Quota{MaxPerDay: 2}, QuotaPerDay},
		{"other user unaffected", "q5", "bob", "eng", 4 * h, h, Quota{MaxPerDay: 2}, ""},
		{"class full", "q6", "carol", "eng", 0, h, Quota{ClassMaxConcurrent: 1}, QuotaClass},
		{"too long", "q7", "dave", "eng", 0, 3 * h, Quota{MaxUsageTime: 2 * h}, QuotaUsageTime},
		{"too far ahead", "q8", "dave", "eng", 48 * h, h, Quota{BookingHorizon: 24 * h}, QuotaHorizon},
	}
	for _, c := range steps {
		t.Run(c.name, func(t *testing.T) {
			err := book(c.id, c.user, c.class, suiteT0.Add(c.start), c.d, c.q)
			if c.limit == "" {
				if err != nil {
					t.Fatalf("Book: %v", err)
				}
				return
			}
			var qe *QuotaError
			if !errors.As(err, &qe) || qe.Limit != c.limit || !errors.Is(err, ErrQuota) {
				t.Fatalf("Book: %v; want quota %s", err, c.limit)
			}
			if _, err := st.Session(ctx, c.id); !errors.Is(err, ErrNotFound) {
				t.Fatalf("a refused booking left a row: %v", err)
			}
		})
	}
}

func suiteQueuedHolds(t *testing.T, st Store) {
	defer st.Close()
	ctx := context.Background()
	one := []Candidate{{Node: "node-a", Capacity: Capacity{Cores: 1, MemoryMB: 1024}}}
	q := suiteSession("s-q", "alice", suiteT0.Add(time.Hour), time.Hour, 1, 0)
	q.State = proto.StateQueued
	if node, err := st.Book(ctx, BookRequest{Session: q, Candidates: one, Admit: suiteAdmitter{}, Now: suiteT0}); err != nil || node != "node-a" {
		t.Fatalf("Book queued = %q, %v", node, err)
	}
	got, err := st.Session(ctx, "s-q")
	if err != nil || got.State != proto.StateQueued {
		t.Fatalf("queued session stored as %s, %v", got.State, err)
	}
	// The queued window is held: an overlapping request does not fit.
	s := suiteSession("s-x", "bob", suiteT0.Add(90*time.Minute), time.Hour, 1, 0)
	if _, err := st.Reserve(ctx, s, one, suiteAdmitter{}); !errors.Is(err, ErrNoCapacity) {
		t.Fatalf("Reserve over a queued window: %v; want ErrNoCapacity", err)
	}
	bs, err := st.Bookings(ctx, suiteT0, suiteT0.Add(3*time.Hour), "node-a")
	if err != nil || len(bs) != 1 || bs[0].ID != "s-q" || bs[0].Capacity.Sessions != 1 || bs[0].Capacity.Cores != 1 {
		t.Fatalf("Bookings = %+v, %v", bs, err)
	}
	if _, err := st.Transition(ctx, "s-q", proto.StateQueued, Change{To: proto.StateScheduled}); err != nil {
		t.Fatalf("queued → scheduled: %v", err)
	}
}

func suiteExtend(t *testing.T, st Store) {
	defer st.Close()
	ctx := context.Background()
	node := Candidate{Node: "node-a", Capacity: Capacity{Cores: 2, MemoryMB: 1024}}
	for _, s := range []Session{
		suiteSession("s-run", "alice", suiteT0, time.Hour, 1, 0),
		suiteSession("s-next", "bob", suiteT0.Add(90*time.Minute), time.Hour, 2, 0),
	} {
		s.State, s.Node = proto.StateRunning, "node-a"
		if err := st.InsertSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.Extend(ctx, "s-run", suiteT0.Add(90*time.Minute), node, suiteAdmitter{}, Quota{})
	if err != nil || !got.End.Equal(suiteT0.Add(90*time.Minute)) || got.Template.UsageTime.D() != 90*time.Minute {
		t.Fatalf("Extend to the neighbour's start = %+v, %v", got, err)
	}
	cases := []struct {
		name string
		end  time.Duration
		q    Quota
		want error
	}{
		{"into the neighbour", 2 * time.Hour, Quota{}, ErrNoCapacity},
		{"not later", time.Hour, Quota{}, ErrNotExtendable},
		{"beyond max usage", 100 * time.Minute, Quota{MaxUsageTime: 95 * time.Minute}, ErrQuota},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := st.Extend(ctx, "s-run", suiteT0.Add(c.end), node, suiteAdmitter{}, c.q); !errors.Is(err, c.want) {
				t.Fatalf("Extend: %v, want %v", err, c.want)
			}
			if cur, _ := st.Session(ctx, "s-run"); !cur.End.Equal(suiteT0.Add(90 * time.Minute)) {
				t.Fatalf("a refused extension moved the end to %s", cur.End)
			}
		})
	}
	if _, err := st.Extend(ctx, "s-none", suiteT0.Add(3*time.Hour), node, suiteAdmitter{}, Quota{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown session: %v", err)
	}
}

func suiteProfiles(t *testing.T, st Store) {
	defer st.Close()
	ctx := context.Background()
	seed := []Profile{{App: "vim", CPUPercent: 5, BandwidthKbps: 10}, {App: "python3", CPUPercent: 50, BandwidthKbps: 100}}
	if err := st.SeedProfiles(ctx, seed); err != nil {
		t.Fatal(err)
	}
	p, err := st.ObserveProfile(ctx, "python3", 100, 0, suiteT0)
	if err != nil || p.Samples != 1 || p.CPUPercent != 60 || p.BandwidthKbps != 80 {
		t.Fatalf("ObserveProfile = %+v, %v; want cpu 60, bw 80, 1 sample", p, err)
	}
	// Seeding again keeps the measured values.
	if err := st.SeedProfiles(ctx, seed); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ObserveProfile(ctx, "gcc", 30, 1, suiteT0); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ObserveProfile(ctx, "bad name", 1, 1, suiteT0); !errors.Is(err, ErrBadObservation) {
		t.Fatalf("bad name: %v", err)
	}
	if _, err := st.ObserveProfile(ctx, "vim", -1, 1, suiteT0); !errors.Is(err, ErrBadObservation) {
		t.Fatalf("negative cpu: %v", err)
	}
	list, err := st.Profiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range list {
		names = append(names, p.App)
	}
	if strings.Join(names, ",") != "gcc,python3,vim" || list[1].CPUPercent != 60 || list[0].CPUPercent != 30 {
		t.Fatalf("Profiles = %+v", list)
	}
}

func suiteTrace(t *testing.T, st Store) {
	defer st.Close()
	ctx := context.Background()
	s := suiteSession("s-tr", "alice", suiteT0, time.Hour, 1, 0)
	s.Trace = []byte(`{"policy":"least-loaded"}`)
	s.CPUPercent, s.BandwidthKbps = 40, 300
	if _, err := st.Reserve(ctx, s, bigNode, suiteAdmitter{}); err != nil {
		t.Fatal(err)
	}
	got, err := st.Session(ctx, "s-tr")
	if err != nil || string(got.Trace) != `{"policy":"least-loaded"}` || got.CPUPercent != 40 || got.BandwidthKbps != 300 {
		t.Fatalf("Session = trace %q cpu %d bw %d, %v", got.Trace, got.CPUPercent, got.BandwidthKbps, err)
	}
}

func suiteMove(t *testing.T, st Store) {
	defer st.Close()
	ctx := context.Background()
	s := suiteSession("s-mv", "alice", suiteT0, time.Hour, 1, 0)
	s.State, s.Node = proto.StateStarting, "node-a"
	full := suiteSession("s-full", "bob", suiteT0, time.Hour, 1, 0)
	full.State, full.Node = proto.StateRunning, "node-b"
	for _, x := range []Session{s, full} {
		if err := st.InsertSession(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	cands := []Candidate{{Node: "node-b", Capacity: Capacity{Cores: 1, MemoryMB: 1024}},
		{Node: "node-c", Capacity: Capacity{Cores: 1, MemoryMB: 1024}}}
	if _, err := st.Move(ctx, "s-mv", proto.StateRunning, cands, suiteAdmitter{}, "x"); !errors.Is(err, ErrStateChanged) {
		t.Fatalf("Move from the wrong state: %v", err)
	}
	node, err := st.Move(ctx, "s-mv", proto.StateStarting, cands, suiteAdmitter{}, "moved to {node}")
	if err != nil || node != "node-c" {
		t.Fatalf("Move = %q, %v; want node-c (node-b is full)", node, err)
	}
	got, err := st.Session(ctx, "s-mv")
	if err != nil || got.Node != "node-c" || got.State != proto.StateScheduled || got.Reason != "moved to node-c" {
		t.Fatalf("moved session %+v, %v", got, err)
	}
	if _, err := st.Move(ctx, "s-mv", proto.StateScheduled, cands[:1], suiteAdmitter{}, "x"); !errors.Is(err, ErrNoCapacity) {
		t.Fatalf("Move onto a full node: %v", err)
	}
}
