package store

import (
	"context"
	"database/sql"
	"fmt"
)

// Every write goes through one connection kept aside from the pool (the
// writer), with BEGIN IMMEDIATE / COMMIT sent as statements, instead of
// database/sql transactions: database/sql starts a goroutine for every
// transaction (to roll it back when its context ends), and modernc's
// driver one for every statement run with a cancellable context (to
// interrupt it). At 2,000 bookings a second those two goroutines — each a
// wake-up of an idle thread — were a quarter of the booking transaction
// that every other booking waits for. Writers are serialised by wmu
// anyway, so one connection loses nothing. Statements run without the
// caller's cancellation (they are short); the context is checked before
// BEGIN and again before COMMIT, and a transaction whose context ended is
// rolled back.

// wtx is a write transaction on the writer connection, with the methods
// of *sql.Tx that the store uses.
type wtx struct {
	s *SQLite
	c *sql.Conn
}

func (t *wtx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.c.ExecContext(context.WithoutCancel(ctx), q, args...)
}

func (t *wtx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.c.QueryContext(context.WithoutCancel(ctx), q, args...)
}

func (t *wtx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.c.QueryRowContext(context.WithoutCancel(ctx), q, args...)
}

// prepared returns q prepared on the writer connection, once per
// connection.
func (t *wtx) prepared(q string) (*sql.Stmt, error) {
	if st, ok := t.s.wstmts[q]; ok {
		return st, nil
	}
	st, err := t.c.PrepareContext(context.Background(), q)
	if err != nil {
		return nil, err
	}
	t.s.wstmts[q] = st
	return st, nil
}

// writer returns the writer connection, opening it when needed; wmu held.
func (s *SQLite) writer() (*sql.Conn, error) {
	if s.wconn != nil {
		return s.wconn, nil
	}
	c, err := s.db.Conn(context.Background())
	if err != nil {
		return nil, err
	}
	s.wconn, s.wstmts = c, map[string]*sql.Stmt{}
	return c, nil
}

// dropWriter closes the writer connection after an error that may have
// left it unusable; the next write opens another. wmu held.
func (s *SQLite) dropWriter() {
	if s.wconn == nil {
		return
	}
	for _, st := range s.wstmts {
		st.Close()
	}
	s.wconn.Close()
	s.wconn, s.wstmts = nil, nil
}

// begin starts a write transaction on the writer, on a fresh connection
// when the kept one fails to begin. wmu held.
func (s *SQLite) begin() (*wtx, error) {
	var err error
	for range 2 {
		var c *sql.Conn
		if c, err = s.writer(); err != nil {
			return nil, err
		}
		if _, err = c.ExecContext(context.Background(), `BEGIN IMMEDIATE`); err == nil {
			return &wtx{s: s, c: c}, nil
		}
		s.dropWriter()
	}
	return nil, fmt.Errorf("begin write transaction: %w", err)
}

// tx runs fn in a write transaction, committing when it returns nil.
func (s *SQLite) tx(ctx context.Context, fn func(*wtx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	t, err := s.begin()
	if err != nil {
		return err
	}
	if err := fn(t); err != nil {
		s.rollback(t)
		return err
	}
	if err := ctx.Err(); err != nil {
		s.rollback(t)
		return err
	}
	if _, err := t.c.ExecContext(context.Background(), `COMMIT`); err != nil {
		s.rollback(t) // a failed COMMIT can leave the transaction open
		return err
	}
	return nil
}

// rollback ends t without its writes. When ROLLBACK fails (SQLite may
// have rolled back already, or the connection is broken) the writer is
// dropped: closing a connection rolls back whatever it still held.
func (s *SQLite) rollback(t *wtx) {
	if _, err := t.c.ExecContext(context.Background(), `ROLLBACK`); err != nil {
		s.dropWriter()
	}
}

// exec runs one auto-committed write statement on the writer.
func (s *SQLite) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	c, err := s.writer()
	if err != nil {
		return nil, err
	}
	return c.ExecContext(context.WithoutCancel(ctx), q, args...)
}
