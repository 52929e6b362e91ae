package gmma

import "sort"

// Stat is a running aggregate: count, sum, minimum and peak.
type Stat struct {
	N   int     `json:"n"`
	Sum float64 `json:"sum"`
	Min float64 `json:"min"`
	Max float64 `json:"max"`
}

// Add folds v in.
func (s *Stat) Add(v float64) {
	if s.N == 0 || v < s.Min {
		s.Min = v
	}
	if s.N == 0 || v > s.Max {
		s.Max = v
	}
	s.N++
	s.Sum += v
}

// Merge folds another aggregate in.
func (s *Stat) Merge(o Stat) {
	if o.N == 0 {
		return
	}
	if s.N == 0 || o.Min < s.Min {
		s.Min = o.Min
	}
	if s.N == 0 || o.Max > s.Max {
		s.Max = o.Max
	}
	s.N += o.N
	s.Sum += o.Sum
}

// Avg is the mean (0 when empty).
func (s Stat) Avg() float64 {
	if s.N == 0 {
		return 0
	}
	return s.Sum / float64(s.N)
}

// Window keeps the last n values for percentiles.
type Window struct {
	vals []float64
	next int
	full bool
}

// NewWindow returns a window of n values.
func NewWindow(n int) *Window { return &Window{vals: make([]float64, max(n, 1))} }

// Add appends v, dropping the oldest when full.
func (w *Window) Add(v float64) {
	w.vals[w.next] = v
	w.next++
	if w.next == len(w.vals) {
		w.next, w.full = 0, true
	}
}

// Len is the number of values held.
func (w *Window) Len() int {
	if w.full {
		return len(w.vals)
	}
	return w.next
}

// Percentile returns the p-th percentile (nearest rank), 0 when empty.
func (w *Window) Percentile(p float64) float64 {
	n := w.Len()
	if n == 0 {
		return 0
	}
	s := append([]float64(nil), w.vals[:n]...)
	sort.Float64s(s)
	rank := int(p/100*float64(n)+0.999999) - 1
	return s[min(max(rank, 0), n-1)]
}
