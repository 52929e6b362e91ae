package store

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps the hot statements of the scheduling path prepared (the
// booking's reads and insert, the user's history): modernc's SQLite
// otherwise parses each one again on every call, which costs about as much
// as running it. database/sql keeps one prepared copy per connection and
// reuses it inside transactions.
type stmtCache struct {
	m sync.Map // query → *sql.Stmt
}

func (c *stmtCache) get(ctx context.Context, db *sql.DB, q string) (*sql.Stmt, error) {
	if v, ok := c.m.Load(q); ok {
		return v.(*sql.Stmt), nil
	}
	st, err := db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if v, loaded := c.m.LoadOrStore(q, st); loaded {
		st.Close()
		return v.(*sql.Stmt), nil
	}
	return st, nil
}

func (c *stmtCache) close() {
	c.m.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		c.m.Delete(k)
		return true
	})
}

// txQuery runs the query q, prepared once on the writer, inside tx.
func (s *SQLite) txQuery(ctx context.Context, tx *wtx, q string, args ...any) (*sql.Rows, error) {
	st, err := tx.prepared(q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(context.WithoutCancel(ctx), args...)
}

// txExec runs the statement q, prepared once on the writer, inside tx.
func (s *SQLite) txExec(ctx context.Context, tx *wtx, q string, args ...any) (sql.Result, error) {
	st, err := tx.prepared(q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(context.WithoutCancel(ctx), args...)
}

// query runs the read q, prepared once, outside any transaction.
func (s *SQLite) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := s.stmts.get(ctx, s.db, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}
