package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/igrid/igrid/internal/testutil"
)

// TestGroupCommit queues 40 Book calls behind a held writer lock so that
// they are applied as groups: a 4-core node takes exactly four 1-core
// sessions, the calls past them get a *ReserveError, a duplicate id gets
// ErrExists without undoing the others of its group, and the book holds
// exactly the sessions answered as booked.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	s := newTestSQLite(t).(*SQLite)
	defer s.Close()
	if err := s.InsertSession(ctx, suiteSession("dup", "bob", suiteT0.Add(48*time.Hour), time.Hour, 1, 1)); err != nil {
		t.Fatal(err)
	}
	cand := []Candidate{{Node: "n1", Capacity: Capacity{Cores: 4, MemoryMB: 1 << 20}}}
	const calls = 40
	type answer struct {
		node string
		err  error
	}
	answers := make([]answer, calls)
	s.wmu.Lock() // the first group's transaction waits: everyone else queues
	var wg sync.WaitGroup
	for i := range calls {
		id, start := fmt.Sprintf("g%02d", i), suiteT0
		if i == 7 { // fits (another window), but its id is taken
			id, start = "dup", suiteT0.Add(48*time.Hour)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sess := suiteSession(id, "alice", start, time.Hour, 1, 1)
			node, err := s.Book(ctx, BookRequest{Session: sess, Candidates: cand, Admit: suiteAdmitter{}, Now: suiteT0})
			answers[i] = answer{node, err}
		}()
	}
	testutil.CheckFor(t, 10*time.Second, func() error {
		s.gmu.Lock()
		defer s.gmu.Unlock()
		if len(s.group.pending) < calls-1 {
			return fmt.Errorf("%d calls queued", len(s.group.pending))
		}
		return nil
	})
	s.wmu.Unlock()
	wg.Wait()

	booked, full, dup := 0, 0, 0
	for i, a := range answers {
		var re *ReserveError
		switch {
		case a.err == nil && a.node == "n1":
			booked++
		case errors.As(a.err, &re):
			full++
		case errors.Is(a.err, ErrExists):
			dup++
		default:
			t.Errorf("call %d: node %q, err %v", i, a.node, a.err)
		}
	}
	if booked != 4 || dup != 1 || full != calls-5 {
		t.Fatalf("booked %d, duplicate %d, no room %d; want 4, 1, %d", booked, dup, full, calls-5)
	}
	bs, err := s.Bookings(ctx, suiteT0, suiteT0.Add(time.Hour))
	if err != nil || len(bs) != 4 {
		t.Fatalf("book holds %d sessions (%v), want the 4 answered", len(bs), err)
	}
}

// TestGroupCommitFails: when the group's commit fails, every caller of the
// group gets the error and nothing is stored.
func TestGroupCommitFails(t *testing.T) {
	ctx := context.Background()
	s := newTestSQLite(t).(*SQLite)
	cand := []Candidate{{Node: "n1", Capacity: Capacity{Cores: 4, MemoryMB: 1 << 20}}}
	s.Close() // every transaction now fails
	_, err := s.Book(ctx, BookRequest{Session: suiteSession("x", "alice", suiteT0, time.Hour, 1, 1),
		Candidates: cand, Admit: suiteAdmitter{}, Now: suiteT0})
	if err == nil {
		t.Fatal("Book on a closed database succeeded")
	}
	s.gmu.Lock()
	defer s.gmu.Unlock()
	if s.group.applying || len(s.group.pending) != 0 {
		t.Fatalf("applier left behind: applying %v, %d pending", s.group.applying, len(s.group.pending))
	}
}
