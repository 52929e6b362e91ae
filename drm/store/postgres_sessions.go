package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/igrid/igrid/internal/proto"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const pgSessionCols = `id, user_name, class, state, reason, node, account, start_at, end_at,
	template, connect, usage, cores, memory_mb, created, updated`

// pgRetries bounds how often Reserve retries after PostgreSQL aborted it
// for a deadlock or a serialisation failure.
const pgRetries = 5

// InsertSession writes s without a Go capacity check; the database trigger
// still refuses a holding session that would over-commit its node.
func (p *Postgres) InsertSession(ctx context.Context, s Session) error {
	return pgInsertSession(ctx, p.pool, s)
}

// pgxExec is a pool, a connection or a transaction.
type pgxExec interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func pgInsertSession(ctx context.Context, db pgxExec, s Session) error {
	tpl, err := json.Marshal(s.Template)
	if err != nil {
		return err
	}
	conn, err := json.Marshal(s.Connect)
	if err != nil {
		return err
	}
	usage, err := json.Marshal(s.Usage)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO sessions (`+pgSessionCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		s.ID, s.User, s.Class, string(s.State), s.Reason, s.Node, s.Account, ns(s.Start), ns(s.End),
		string(tpl), string(conn), string(usage), s.Cores, s.MemoryMB, ns(s.Created), ns(s.Updated))
	if pgCode(err) == pgUniqueViolation {
		return fmt.Errorf("session %s: %w", s.ID, ErrExists)
	}
	return err
}

// Reserve admits and inserts s on the first candidate that fits, in one
// transaction. Each candidate is tried under a savepoint that locks its
// capacity row; a refused candidate's savepoint is rolled back, releasing
// the lock, so a reservation holds at most one node lock at a time.
func (p *Postgres) Reserve(ctx context.Context, sess Session, candidates []Candidate, admit Admitter) (string, error) {
	var node string
	var err error
	for attempt := 0; attempt < pgRetries; attempt++ {
		node, err = p.reserveOnce(ctx, sess, candidates, admit)
		if c := pgCode(err); c != pgDeadlock && c != pgSerialization {
			break
		}
	}
	return node, err
}

func (p *Postgres) reserveOnce(ctx context.Context, sess Session, candidates []Candidate, admit Admitter) (string, error) {
	var chosen string
	demand := Capacity{Cores: sess.Cores, MemoryMB: sess.MemoryMB}
	err := p.tx(ctx, func(tx pgx.Tx) error {
		rej := &ReserveError{}
		for _, c := range candidates {
			why, err := p.tryCandidate(ctx, tx, sess, c, demand, admit)
			if err != nil {
				return err
			}
			if why != "" {
				rej.Rejections = append(rej.Rejections, Rejection{Node: c.Node, Reason: why})
				continue
			}
			chosen = c.Node
			return nil
		}
		return rej
	})
	if err != nil {
		return "", err
	}
	return chosen, nil
}

// tryCandidate places sess on c inside a savepoint of tx. It returns the
// reason c was refused, or "" when sess is now inserted on c.
func (p *Postgres) tryCandidate(ctx context.Context, tx pgx.Tx, sess Session, c Candidate, demand Capacity, admit Admitter) (string, error) {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return "", err
	}
	why, err := p.placeOn(ctx, sp, sess, c, demand, admit)
	if err != nil || why != "" {
		if rerr := sp.Rollback(ctx); rerr != nil && err == nil {
			err = rerr
		}
		return why, err
	}
	return "", sp.Commit(ctx)
}

func (p *Postgres) placeOn(ctx context.Context, tx pgx.Tx, sess Session, c Candidate, demand Capacity, admit Admitter) (string, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO node_capacity (node, cores, memory_mb) VALUES ($1, $2, $3)
		ON CONFLICT (node) DO NOTHING`, c.Node, c.Capacity.Cores, c.Capacity.MemoryMB); err != nil {
		return "", err
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM node_capacity WHERE node = $1 FOR UPDATE`, c.Node); err != nil {
		return "", err
	}
	held, err := pgReservedOn(ctx, tx, c.Node, sess.Start, sess.End)
	if err != nil {
		return "", err
	}
	if why := admit.Admit(c, held, demand); why != "" {
		return why, nil
	}
	sess.State, sess.Node = proto.StateScheduled, c.Node
	err = pgInsertSession(ctx, tx, sess)
	if pgCode(err) == pgOvercommit {
		return "refused by the database: " + pgMessage(err), nil
	}
	return "", err
}

// pgReservedOn sums what holding sessions on node reserve in [from, to).
func pgReservedOn(ctx context.Context, tx pgx.Tx, node string, from, to time.Time) (Capacity, error) {
	var c Capacity
	err := tx.QueryRow(ctx, `SELECT COALESCE(SUM(cores), 0), COALESCE(SUM(memory_mb), 0)
		FROM sessions WHERE node = $1 AND state = ANY(`+pgHolding+`) AND start_at < $2 AND end_at > $3`,
		node, ns(to), ns(from)).Scan(&c.Cores, &c.MemoryMB)
	return c, err
}

// Reserved sums held capacity per node over sessions overlapping [from, to).
func (p *Postgres) Reserved(ctx context.Context, from, to time.Time) (map[string]Capacity, error) {
	rows, err := p.pool.Query(ctx, `SELECT node, SUM(cores), SUM(memory_mb) FROM sessions
		WHERE state = ANY(`+pgHolding+`) AND start_at < $1 AND end_at > $2 GROUP BY node`, ns(to), ns(from))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]Capacity{}
	for rows.Next() {
		var node string
		var c Capacity
		if err := rows.Scan(&node, &c.Cores, &c.MemoryMB); err != nil {
			return nil, err
		}
		out[node] = c
	}
	return out, rows.Err()
}

// Session returns one session.
func (p *Postgres) Session(ctx context.Context, id string) (Session, error) {
	out, err := p.querySessions(ctx, `SELECT `+pgSessionCols+` FROM sessions WHERE id = $1`, id)
	if err != nil {
		return Session{}, err
	}
	if len(out) == 0 {
		return Session{}, fmt.Errorf("session %s: %w", id, ErrNotFound)
	}
	return out[0], nil
}

// Sessions lists sessions matching f, oldest first.
func (p *Postgres) Sessions(ctx context.Context, f SessionFilter) ([]Session, error) {
	var where []string
	var args []any
	if f.User != "" {
		args = append(args, f.User)
		where = append(where, fmt.Sprintf("user_name = $%d", len(args)))
	}
	if len(f.States) > 0 {
		states := make([]string, len(f.States))
		for i, st := range f.States {
			states[i] = string(st)
		}
		args = append(args, states)
		where = append(where, fmt.Sprintf("state = ANY($%d)", len(args)))
	}
	q := `SELECT ` + pgSessionCols + ` FROM sessions`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return p.querySessions(ctx, q+" ORDER BY created, id", args...)
}

func (p *Postgres) querySessions(ctx context.Context, q string, args ...any) ([]Session, error) {
	rows, err := p.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Session{}
	for rows.Next() {
		var s Session
		var state, tpl, conn, usage string
		var start, end, created, updated int64
		if err := rows.Scan(&s.ID, &s.User, &s.Class, &state, &s.Reason, &s.Node, &s.Account, &start, &end,
			&tpl, &conn, &usage, &s.Cores, &s.MemoryMB, &created, &updated); err != nil {
			return nil, err
		}
		s.State = proto.State(state)
		s.Start, s.End, s.Created, s.Updated = fromNS(start), fromNS(end), fromNS(created), fromNS(updated)
		for _, j := range []struct {
			src string
			dst any
		}{{tpl, &s.Template}, {conn, &s.Connect}, {usage, &s.Usage}} {
			if err := json.Unmarshal([]byte(j.src), j.dst); err != nil {
				return nil, fmt.Errorf("session %s: %w", s.ID, err)
			}
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Transition applies c to session id if it is still in state from.
func (p *Postgres) Transition(ctx context.Context, id string, from proto.State, c Change) (Session, error) {
	if !proto.CanTransition(from, c.To) {
		return Session{}, &TransitionError{ID: id, From: string(from), To: string(c.To), Err: ErrBadTransition}
	}
	var conn, usage *string
	if c.Connect != nil {
		b, _ := json.Marshal(c.Connect)
		conn = ptr(string(b))
	}
	if c.Usage != nil {
		b, _ := json.Marshal(c.Usage)
		usage = ptr(string(b))
	}
	tag, err := p.pool.Exec(ctx, `UPDATE sessions SET state = $1,
		reason = CASE WHEN $2 = '' THEN reason ELSE $2 END,
		account = CASE WHEN $3 = '' THEN account ELSE $3 END,
		connect = COALESCE($4, connect), usage = COALESCE($5, usage), updated = $6
		WHERE id = $7 AND state = $8`,
		string(c.To), c.Reason, c.Account, conn, usage, ns(time.Now()), id, string(from))
	if pgCode(err) == pgOvercommit { // e.g. a queued session scheduled into a full window
		return Session{}, &ReserveError{Rejections: []Rejection{{Node: "session " + id, Reason: pgMessage(err)}}}
	}
	if err != nil {
		return Session{}, err
	}
	if tag.RowsAffected() == 0 {
		cur, err := p.Session(ctx, id)
		if err != nil {
			return Session{}, err
		}
		return cur, &TransitionError{ID: id, From: string(from), To: string(c.To), Current: string(cur.State), Err: ErrStateChanged}
	}
	return p.Session(ctx, id)
}

func ptr[T any](v T) *T { return &v }

// pgMessage is the message of a PostgreSQL error without the SQLSTATE.
func pgMessage(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Message
	}
	return err.Error()
}

// CountSessions counts sessions per state.
func (p *Postgres) CountSessions(ctx context.Context) (map[proto.State]int, error) {
	rows, err := p.pool.Query(ctx, `SELECT state, COUNT(*) FROM sessions GROUP BY state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[proto.State]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[proto.State(st)] = n
	}
	return out, rows.Err()
}
