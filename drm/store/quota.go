package store

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/igrid/igrid/internal/proto"
)

// ErrQuota is wrapped by *QuotaError.
var ErrQuota = errors.New("quota exceeded")

// Quota limits are the class's and user's admission quotas. Zero means no
// limit. Book checks them in the reserving transaction.
type Quota struct {
	MaxUsageTime       time.Duration // longest window
	MaxConcurrent      int           // the user's sessions overlapping the window
	MaxPerDay          int           // the user's sessions starting in one UTC day
	ClassMaxConcurrent int           // the class's sessions overlapping the window
	BookingHorizon     time.Duration // how far ahead of now a window may start
}

// Quota limit names, the first word of a QuotaError's message.
const (
	QuotaUsageTime  = "max_usage_time"
	QuotaConcurrent = "max_concurrent_sessions"
	QuotaPerDay     = "max_sessions_per_day"
	QuotaClass      = "class_max_concurrent_sessions"
	QuotaHorizon    = "booking_horizon"
)

// QuotaError says which quota refused a booking.
type QuotaError struct {
	Limit   string // one of the Quota* names
	Message string
}

func (e *QuotaError) Error() string { return "quota " + e.Limit + ": " + e.Message }

// Unwrap lets callers test errors.Is(err, ErrQuota).
func (e *QuotaError) Unwrap() error { return ErrQuota }

// quotaCounts are the figures a store counts in its transaction.
type quotaCounts interface {
	userConcurrent(user string, from, to time.Time) (int, error)
	userPerDay(user string, day time.Time) (int, error)
	classConcurrent(class string, from, to time.Time) (int, error)
}

// checkQuota applies q to s with the counts of the current transaction.
func checkQuota(q Quota, s Session, now time.Time, c quotaCounts) error {
	if d := s.End.Sub(s.Start); q.MaxUsageTime > 0 && d > q.MaxUsageTime {
		return &QuotaError{QuotaUsageTime, fmt.Sprintf("window of %s is longer than the class's %s", d, q.MaxUsageTime)}
	}
	if ahead := s.Start.Sub(now); q.BookingHorizon > 0 && ahead > q.BookingHorizon {
		return &QuotaError{QuotaHorizon, fmt.Sprintf("start is %s ahead, the class books at most %s ahead",
			ahead.Round(time.Second), q.BookingHorizon)}
	}
	checks := []struct {
		limit, max int
		count      func() (int, error)
		what       string
	}{
		{0, q.MaxConcurrent, func() (int, error) { return c.userConcurrent(s.User, s.Start, s.End) }, "sessions of " + s.User + " booked in the window"},
		{1, q.MaxPerDay, func() (int, error) { return c.userPerDay(s.User, s.Start) }, "sessions of " + s.User + " on " + s.Start.UTC().Format("2006-01-02")},
		{2, q.ClassMaxConcurrent, func() (int, error) { return c.classConcurrent(s.Class, s.Start, s.End) }, "sessions of class " + s.Class + " booked in the window"},
	}
	names := []string{QuotaConcurrent, QuotaPerDay, QuotaClass}
	for _, ch := range checks {
		if ch.max <= 0 {
			continue
		}
		n, err := ch.count()
		if err != nil {
			return err
		}
		if n >= ch.max {
			return &QuotaError{names[ch.limit], fmt.Sprintf("%d %s already, the limit is %d", n, ch.what, ch.max)}
		}
	}
	return nil
}

// dayBounds is the UTC day holding t.
func dayBounds(t time.Time) (time.Time, time.Time) {
	d := t.UTC().Truncate(24 * time.Hour)
	return d, d.Add(24 * time.Hour)
}

// ErrNotExtendable is wrapped by the error of an Extend the session's
// state or the new end forbids.
var ErrNotExtendable = errors.New("session cannot be extended")

// checkExtend is what Extend checks before capacity: the session is
// booked, the end moves later, and the window stays within the quota.
func checkExtend(s Session, end time.Time, node Candidate, q Quota) error {
	switch {
	case s.State == proto.StateEnding || !slices.Contains(HoldingStates(), s.State):
		return fmt.Errorf("session %s is %s: %w", s.ID, s.State, ErrNotExtendable)
	case !end.After(s.End):
		return fmt.Errorf("new end %s is not after the current end %s: %w", end.Format(time.RFC3339), s.End.Format(time.RFC3339), ErrNotExtendable)
	case node.Node != s.Node:
		return fmt.Errorf("session %s is on %s, not %s: %w", s.ID, s.Node, node.Node, ErrNotExtendable)
	}
	if d := end.Sub(s.Start); q.MaxUsageTime > 0 && d > q.MaxUsageTime {
		return &QuotaError{QuotaUsageTime, fmt.Sprintf("extended window of %s is longer than the class's %s", d, q.MaxUsageTime)}
	}
	return nil
}
