package store

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/igrid/igrid/internal/proto"
)

// Peak is the most each resource is held at any instant of [from, to) by
// bookings: the node's capacity timeline over the window, reduced to the
// figure admission needs. A window fits when, for every resource, peak
// plus demand stays within capacity — which is the same as fitting at
// every instant, since each resource is checked at its own worst instant.
func Peak(bookings []Booking, from, to time.Time) Capacity {
	type event struct {
		at  time.Time
		c   Capacity
		end bool
	}
	var stack [32]event // a node's bookings in one window are few: no allocation
	evs := stack[:0]
	for _, b := range bookings {
		if !b.Start.Before(to) || !b.End.After(from) {
			continue
		}
		start := b.Start
		if start.Before(from) {
			start = from
		}
		evs = append(evs, event{at: start, c: b.Capacity}, event{at: b.End, c: b.Capacity, end: true})
	}
	// At one instant, ends come before starts: windows are half open.
	slices.SortFunc(evs, func(a, b event) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return cmp.Compare(btoi(!a.end), btoi(!b.end))
	})
	var cur, peak Capacity
	for _, e := range evs {
		if e.end {
			cur = cur.Sub(e.c)
			continue
		}
		cur = cur.Add(e.c)
		peak = peak.Max(cur)
	}
	return peak
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// EarliestFit returns the earliest start at or after from at which a
// window of length d fits on a node with bookings, checked by fits
// against the peak; false when none does before horizon. The candidate
// starts are from and every booking's end, since capacity only frees up
// when a booking ends.
func EarliestFit(bookings []Booking, from, horizon time.Time, d time.Duration, fits func(peak Capacity) bool) (time.Time, bool) {
	starts := []time.Time{from}
	for _, b := range bookings {
		if b.End.After(from) {
			starts = append(starts, b.End)
		}
	}
	slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
	for _, s := range starts {
		if s.After(horizon) {
			break
		}
		if fits(Peak(bookings, s, s.Add(d))) {
			return s, true
		}
	}
	return time.Time{}, false
}

// earliestAmong picks, among cands, the one whose window of length d can
// start earliest in [from, last] beside bs (earlier candidates win ties),
// and lists why the others cannot at all.
func earliestAmong(bs []Booking, cands []Candidate, from, last time.Time, d time.Duration, admit Admitter, demand Capacity) (Candidate, time.Time, bool, []Rejection) {
	byNode := map[string][]Booking{}
	for _, b := range bs {
		byNode[b.Node] = append(byNode[b.Node], b)
	}
	var best Candidate
	var bestAt time.Time
	found := false
	var rej []Rejection
	for _, c := range cands {
		at, ok := EarliestFit(byNode[c.Node], from, last, d, func(peak Capacity) bool {
			return admit.Admit(c, peak, demand) == ""
		})
		if !ok {
			rej = append(rej, Rejection{Node: c.Node, Reason: fmt.Sprintf("no window of %s before %s", d, last.Format(time.RFC3339))})
			continue
		}
		if !found || at.Before(bestAt) {
			best, bestAt, found = c, at, true
		}
	}
	return best, bestAt, found, rej
}

// placeAt sets s's window to start at at, keeping its length, and its
// state: queued when the start moved later than asked.
func placeAt(s *Session, node string, at time.Time) {
	d := s.End.Sub(s.Start)
	s.State = proto.StateScheduled
	if at.After(s.Start) {
		s.State = proto.StateQueued
	}
	s.Node, s.Start, s.End = node, at, at.Add(d)
	s.Template.Start = at.UTC().Format(time.RFC3339)
}
