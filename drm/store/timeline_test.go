package store

import (
	"testing"
	"time"
)

func TestPeak(t *testing.T) {
	h := time.Hour
	b := func(start, d time.Duration, cores int) Booking {
		return Booking{Start: suiteT0.Add(start), End: suiteT0.Add(start + d), Capacity: Capacity{Cores: cores, Sessions: 1}}
	}
	cases := []struct {
		name      string
		bs        []Booking
		from, to  time.Duration
		wantCores int
		wantN     int
	}{
		{"empty", nil, 0, h, 0, 0},
		{"back to back do not add", []Booking{b(0, h, 2), b(h, h, 2)}, 0, 2 * h, 2, 1},
		{"overlap adds", []Booking{b(0, h, 2), b(30*time.Minute, h, 1)}, 0, 2 * h, 3, 2},
		{"outside the window ignored", []Booking{b(0, h, 2), b(30*time.Minute, h, 1)}, 70 * time.Minute, 2 * h, 1, 1},
		{"started before the window counts", []Booking{b(-h, 2*h, 3)}, 30 * time.Minute, h, 3, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := Peak(c.bs, suiteT0.Add(c.from), suiteT0.Add(c.to))
			if p.Cores != c.wantCores || p.Sessions != c.wantN {
				t.Fatalf("Peak = %+v, want %d cores %d sessions", p, c.wantCores, c.wantN)
			}
		})
	}
}

func TestEarliestFit(t *testing.T) {
	h := time.Hour
	bs := []Booking{
		{Start: suiteT0, End: suiteT0.Add(h), Capacity: Capacity{Cores: 2}},
		{Start: suiteT0.Add(90 * time.Minute), End: suiteT0.Add(3 * h), Capacity: Capacity{Cores: 2}},
	}
	fits := func(p Capacity) bool { return p.Cores+1 <= 2 }
	cases := []struct {
		name    string
		d       time.Duration
		horizon time.Duration
		want    time.Duration
		ok      bool
	}{
		{"gap of 30 min", 30 * time.Minute, 24 * h, h, true},
		{"too long for the gap", h, 24 * h, 3 * h, true},
		{"beyond the horizon", h, 2 * h, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			at, ok := EarliestFit(bs, suiteT0, suiteT0.Add(c.horizon), c.d, fits)
			if ok != c.ok || (ok && !at.Equal(suiteT0.Add(c.want))) {
				t.Fatalf("EarliestFit = %s, %v; want +%s, %v", at, ok, c.want, c.ok)
			}
		})
	}
}
