package store

import (
	"cmp"
	"slices"
	"time"
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
	evs := make([]event, 0, 2*len(bookings))
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
			cur = cur.Add(neg(e.c))
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

func neg(c Capacity) Capacity {
	return Capacity{-c.Cores, -c.MemoryMB, -c.CPUPercent, -c.BandwidthKbps, -c.Sessions}
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
