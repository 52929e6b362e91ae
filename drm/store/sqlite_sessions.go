package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/igrid/igrid/internal/proto"
)

const sessionCols = `id, user, class, state, reason, node, account, start_at, end_at,
	template, connect, usage, cores, memory_mb, created, updated`

// InsertSession writes s without a capacity check.
func (s *SQLite) InsertSession(ctx context.Context, sess Session) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return insertSession(ctx, tx, sess) })
}

func insertSession(ctx context.Context, tx *sql.Tx, s Session) error {
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
	_, err = tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.User, s.Class, string(s.State), s.Reason, s.Node, s.Account, ns(s.Start), ns(s.End),
		string(tpl), string(conn), string(usage), s.Cores, s.MemoryMB, ns(s.Created), ns(s.Updated))
	if isUnique(err) {
		return fmt.Errorf("session %s: %w", s.ID, ErrExists)
	}
	return err
}

// Reserve admits and inserts s on the first candidate that fits, in one
// IMMEDIATE transaction.
func (s *SQLite) Reserve(ctx context.Context, sess Session, candidates []Candidate, admit Admitter) (string, error) {
	var chosen string
	demand := Capacity{Cores: sess.Cores, MemoryMB: sess.MemoryMB}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rej := &ReserveError{}
		for _, c := range candidates {
			held, err := reservedOn(ctx, tx, c.Node, sess.Start, sess.End)
			if err != nil {
				return err
			}
			if why := admit.Admit(c, held, demand); why != "" {
				rej.Rejections = append(rej.Rejections, Rejection{Node: c.Node, Reason: why})
				continue
			}
			sess.State, sess.Node = proto.StateScheduled, c.Node
			if err := insertSession(ctx, tx, sess); err != nil {
				return err
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

// reservedOn sums what holding sessions on node reserve in [from, to).
func reservedOn(ctx context.Context, tx *sql.Tx, node string, from, to time.Time) (Capacity, error) {
	var c Capacity
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(cores), 0), COALESCE(SUM(memory_mb), 0)
		FROM sessions WHERE node = ? AND state IN `+holdingIn()+` AND start_at < ? AND end_at > ?`,
		node, ns(to), ns(from)).Scan(&c.Cores, &c.MemoryMB)
	return c, err
}

// Reserved sums held capacity per node over sessions overlapping [from, to).
func (s *SQLite) Reserved(ctx context.Context, from, to time.Time) (map[string]Capacity, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT node, SUM(cores), SUM(memory_mb) FROM sessions
		WHERE state IN `+holdingIn()+` AND start_at < ? AND end_at > ? GROUP BY node`, ns(to), ns(from))
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
func (s *SQLite) Session(ctx context.Context, id string) (Session, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = ?`, id)
	if err != nil {
		return Session{}, err
	}
	out, err := scanSessions(rows)
	if err != nil {
		return Session{}, err
	}
	if len(out) == 0 {
		return Session{}, fmt.Errorf("session %s: %w", id, ErrNotFound)
	}
	return out[0], nil
}

// Sessions lists sessions matching f, oldest first.
func (s *SQLite) Sessions(ctx context.Context, f SessionFilter) ([]Session, error) {
	var where []string
	var args []any
	if f.User != "" {
		where, args = append(where, "user = ?"), append(args, f.User)
	}
	if len(f.States) > 0 {
		marks := make([]string, len(f.States))
		for i, st := range f.States {
			marks[i] = "?"
			args = append(args, string(st))
		}
		where = append(where, "state IN ("+strings.Join(marks, ", ")+")")
	}
	q := `SELECT ` + sessionCols + ` FROM sessions`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.db.QueryContext(ctx, q+" ORDER BY created, id", args...)
	if err != nil {
		return nil, err
	}
	return scanSessions(rows)
}

func scanSessions(rows *sql.Rows) ([]Session, error) {
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
func (s *SQLite) Transition(ctx context.Context, id string, from proto.State, c Change) (Session, error) {
	if !proto.CanTransition(from, c.To) {
		return Session{}, &TransitionError{ID: id, From: string(from), To: string(c.To), Err: ErrBadTransition}
	}
	var conn, usage any
	if c.Connect != nil {
		b, _ := json.Marshal(c.Connect)
		conn = string(b)
	}
	if c.Usage != nil {
		b, _ := json.Marshal(c.Usage)
		usage = string(b)
	}
	res, err := s.exec(ctx, `UPDATE sessions SET state = ?,
		reason = CASE WHEN ? = '' THEN reason ELSE ? END,
		account = CASE WHEN ? = '' THEN account ELSE ? END,
		connect = COALESCE(?, connect), usage = COALESCE(?, usage), updated = ?
		WHERE id = ? AND state = ?`,
		string(c.To), c.Reason, c.Reason, c.Account, c.Account, conn, usage, ns(time.Now()), id, string(from))
	if err != nil {
		return Session{}, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return Session{}, err
	} else if n == 0 {
		cur, err := s.Session(ctx, id)
		if err != nil {
			return Session{}, err
		}
		return cur, &TransitionError{ID: id, From: string(from), To: string(c.To), Current: string(cur.State), Err: ErrStateChanged}
	}
	return s.Session(ctx, id)
}

// CountSessions counts sessions per state.
func (s *SQLite) CountSessions(ctx context.Context) (map[proto.State]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT state, COUNT(*) FROM sessions GROUP BY state`)
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
