package store

import (
	"context"
	"sync"

	"github.com/jackc/pgx/v5"
)

// pgLeaderLock is the advisory lock key of the dispatching DRM.
const pgLeaderLock = 0x69677269640002 // "igrid" 0002

// Leader is the dispatcher lease of DRM processes sharing one PostgreSQL:
// a session-level advisory lock held on a connection of its own. When the
// holder dies its connection drops and the lock frees, so another DRM's
// next TryLead takes it.
type Leader struct {
	url  string
	mu   sync.Mutex
	conn *pgx.Conn
}

// Leader returns the dispatcher lease of this database.
func (p *Postgres) Leader() *Leader { return &Leader{url: p.url} }

// TryLead reports whether this process holds the lease, taking it when
// free. A lease whose connection broke is given up and retried.
func (l *Leader) TryLead(ctx context.Context) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil {
		if err := l.conn.Ping(ctx); err == nil {
			return true, nil
		}
		l.conn.Close(context.Background())
		l.conn = nil
	}
	conn, err := pgx.Connect(ctx, l.url)
	if err != nil {
		return false, err
	}
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, int64(pgLeaderLock)).Scan(&got); err != nil || !got {
		conn.Close(context.Background())
		return false, err
	}
	l.conn = conn
	return true, nil
}

// Resign gives the lease up.
func (l *Leader) Resign() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil {
		l.conn.Close(context.Background())
		l.conn = nil
	}
}
