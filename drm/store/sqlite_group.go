package store

import (
	"context"
	"errors"
	"fmt"
)

// Group commit (Nomad's plan applier, on SQLite's single writer): Book
// calls that arrive while a booking transaction runs queue up, and the
// next transaction applies all of them — up to maxGroup — one after the
// other, each inside its own SAVEPOINT, then commits once. Admission is
// re-checked for every booking inside that transaction, over a book that
// already holds the bookings applied before it in the group, so a group
// can never over-commit a node; a booking that no longer fits is answered
// with its *ReserveError (the scheduler then queues it or denies it), a
// quota refusal with its *QuotaError. Nobody gets an answer before the
// commit that made their booking durable; when the commit fails, every
// caller of the group gets the error and nothing of the group is stored.
//
// There is no applier goroutine: the first caller to find no transaction
// running applies a group (which holds its own call) and then hands the
// applier's role to the oldest call still waiting.

// maxGroup bounds the bookings one transaction applies.
const maxGroup = 64

type bookCall struct {
	ctx  context.Context
	r    BookRequest
	enc  sessionJSON     // r.Session's JSON columns, encoded by the caller
	done chan bookAnswer // buffered (1): the applier never blocks on it
}

type bookAnswer struct {
	node string
	err  error
	lead bool // the caller becomes the applier: no answer yet
}

type bookGroup struct {
	applying bool
	pending  []*bookCall
}

// Book checks quotas and capacity and inserts the session, in an
// IMMEDIATE transaction shared with the Book calls queued beside it
// (group commit, above): SQLite's single writer makes each
// read-check-insert atomic against every other writer.
func (s *SQLite) Book(ctx context.Context, r BookRequest) (string, error) {
	enc, err := encodeSession(r.Session)
	if err != nil {
		return "", err
	}
	call := &bookCall{ctx: ctx, r: r, enc: enc, done: make(chan bookAnswer, 1)}
	s.gmu.Lock()
	s.group.pending = append(s.group.pending, call)
	lead := !s.group.applying
	s.group.applying = true
	s.gmu.Unlock()
	for {
		if lead {
			s.applyGroup()
		}
		a := <-call.done
		if !a.lead {
			return a.node, a.err
		}
		lead = true
	}
}

// applyGroup takes the queued calls (at most maxGroup), applies them in
// one transaction, answers them after the commit, and passes the applier's
// role on when more calls are waiting.
func (s *SQLite) applyGroup() {
	s.gmu.Lock()
	n := min(len(s.group.pending), maxGroup)
	group := s.group.pending[:n:n]
	s.group.pending = s.group.pending[n:]
	s.gmu.Unlock()

	answers := make([]bookAnswer, len(group))
	err := s.tx(context.Background(), func(tx *wtx) error {
		if len(group) == 1 { // alone: the transaction is its savepoint
			answers[0] = s.applyAlone(tx, group[0])
			if answers[0].err != nil {
				return errUndoAlone
			}
			return nil
		}
		for i, c := range group {
			answers[i] = s.applyOne(tx, c)
		}
		return nil
	})
	if errors.Is(err, errUndoAlone) {
		err = nil // rolled back; the answer holds the booking's own error
	}
	for i, c := range group {
		if err != nil {
			answers[i] = bookAnswer{err: fmt.Errorf("commit booking group: %w", err)}
		}
		c.done <- answers[i]
	}

	s.gmu.Lock()
	defer s.gmu.Unlock()
	if len(s.group.pending) == 0 {
		s.group.applying = false
		return
	}
	s.group.pending[0].done <- bookAnswer{lead: true}
}

// errUndoAlone rolls back the transaction of a group of one whose booking
// failed.
var errUndoAlone = errors.New("booking refused: roll back")

// applyAlone books call c in tx: the one call of a group, or one in its
// savepoint (applyOne).
func (s *SQLite) applyAlone(tx *wtx, c *bookCall) bookAnswer {
	if err := c.ctx.Err(); err != nil {
		return bookAnswer{err: err}
	}
	node, err := s.bookIn(c.ctx, tx, c.r, c.enc)
	return bookAnswer{node: node, err: err}
}

// applyOne books one call inside the group's transaction, in a savepoint
// so that its failure undoes only its own writes.
func (s *SQLite) applyOne(tx *wtx, c *bookCall) bookAnswer {
	if _, err := tx.ExecContext(c.ctx, `SAVEPOINT book`); err != nil {
		return bookAnswer{err: err}
	}
	a := s.applyAlone(tx, c)
	if a.err != nil {
		if _, rerr := tx.ExecContext(context.Background(), `ROLLBACK TO book`); rerr != nil {
			return bookAnswer{err: fmt.Errorf("%w (and rollback to savepoint: %v)", a.err, rerr)}
		}
	}
	if _, rerr := tx.ExecContext(context.Background(), `RELEASE book`); rerr != nil && a.err == nil {
		a.err = rerr
	}
	return a
}
