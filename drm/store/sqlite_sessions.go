package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/igrid/igrid/internal/proto"
)

const sessionCols = `id, user, class, state, reason, node, account, start_at, end_at,
	template, connect, usage, cores, memory_mb, created, updated, cpu_percent, bandwidth_kbps, trace`

// nextSeq numbers a session write (migration 5): it runs inside the
// writing statement, under SQLite's write lock.
const nextSeq = `(SELECT COALESCE(MAX(seq), 0) + 1 FROM sessions)`

// InsertSession writes s without a capacity check.
func (s *SQLite) InsertSession(ctx context.Context, sess Session) error {
	return s.tx(ctx, func(tx *wtx) error { return s.insertSession(ctx, tx, sess) })
}

func (st *SQLite) insertSession(ctx context.Context, tx *wtx, s Session) error {
	enc, err := encodeSession(s)
	if err != nil {
		return err
	}
	return st.insertEncoded(ctx, tx, s, enc)
}

// sessionJSON is a session's JSON columns, encoded before its transaction
// when it is booked: the transaction every other booking waits for does
// not spend its time marshalling.
type sessionJSON struct{ tpl, conn, usage []byte }

func encodeSession(s Session) (sessionJSON, error) {
	var e sessionJSON
	var err error
	if e.tpl, err = json.Marshal(s.Template); err != nil {
		return e, err
	}
	if e.conn, err = json.Marshal(s.Connect); err != nil {
		return e, err
	}
	e.usage, err = json.Marshal(s.Usage)
	return e, err
}

// insertEncoded inserts s with its JSON columns from enc.
func (st *SQLite) insertEncoded(ctx context.Context, tx *wtx, s Session, enc sessionJSON) error {
	tpl, conn, usage := enc.tpl, enc.conn, enc.usage
	_, err := st.txExec(ctx, tx, `INSERT INTO sessions (`+sessionCols+`, seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, `+nextSeq+`)`,
		s.ID, s.User, s.Class, string(s.State), s.Reason, s.Node, s.Account, ns(s.Start), ns(s.End),
		string(tpl), string(conn), string(usage), s.Cores, s.MemoryMB, ns(s.Created), ns(s.Updated),
		s.CPUPercent, s.BandwidthKbps, string(s.Trace))
	if isUnique(err) {
		return fmt.Errorf("session %s: %w", s.ID, ErrExists)
	}
	return err
}

// Reserve admits and inserts s on the first candidate that fits, in one
// IMMEDIATE transaction.
func (s *SQLite) Reserve(ctx context.Context, sess Session, candidates []Candidate, admit Admitter) (string, error) {
	sess.State = proto.StateScheduled
	return s.Book(ctx, BookRequest{Session: sess, Candidates: candidates, Admit: admit, Now: time.Now()})
}

// bookIn is one Book inside tx: quotas, then the candidates in order,
// each node's book re-read and admission checked, and the insert on the
// first that fits.
func (s *SQLite) bookIn(ctx context.Context, tx *wtx, r BookRequest, enc sessionJSON) (string, error) {
	sess := r.Session
	if sess.State != proto.StateQueued {
		sess.State = proto.StateScheduled
	}
	if err := checkQuota(r.Quota, sess, r.Now, sqliteCounts{ctx, tx}); err != nil {
		return "", err
	}
	rej := &ReserveError{}
	for _, c := range r.Candidates {
		held, err := s.peakOn(ctx, tx, c.Node, sess.Start, sess.End, "")
		if err != nil {
			return "", err
		}
		if why := r.Admit.Admit(c, held, sess.Demand()); why != "" {
			rej.Rejections = append(rej.Rejections, Rejection{Node: c.Node, Reason: why})
			continue
		}
		sess.Node = c.Node
		if r.Prepare != nil {
			r.Prepare(&sess, rej.Rejections)
		}
		if err := s.insertEncoded(ctx, tx, sess, enc); err != nil {
			return "", err
		}
		return c.Node, nil
	}
	return "", rej
}

// BookEarliest books at the earliest feasible start, in one IMMEDIATE
// transaction: nothing else writes while it reads the book and inserts.
func (s *SQLite) BookEarliest(ctx context.Context, r BookRequest, last time.Time) (Session, error) {
	sess := r.Session
	err := s.tx(ctx, func(tx *wtx) error {
		bs, err := sqliteBookingsOn(ctx, tx, sess.Start, last.Add(sess.End.Sub(sess.Start)), candidateNodes(r.Candidates))
		if err != nil {
			return err
		}
		c, at, ok, rej := earliestAmong(bs, r.Candidates, sess.Start, last, sess.End.Sub(sess.Start), r.Admit, sess.Demand())
		if !ok {
			return &ReserveError{Rejections: rej}
		}
		placeAt(&sess, c.Node, at)
		if err := checkQuota(r.Quota, sess, r.Now, sqliteCounts{ctx, tx}); err != nil {
			return err
		}
		if r.Prepare != nil {
			r.Prepare(&sess, rej)
		}
		return s.insertSession(ctx, tx, sess)
	})
	if err != nil {
		return Session{}, err
	}
	return sess, nil
}

// candidateNodes are the node names to read bookings of; nil (all nodes)
// when there are so many that one scan beats a long IN list.
func candidateNodes(cands []Candidate) []string {
	if len(cands) > 500 {
		return nil
	}
	out := make([]string, len(cands))
	for i, c := range cands {
		out[i] = c.Node
	}
	return out
}

// sqliteBookingsOn lists holders overlapping [from, to) on nodes (all when
// nil) inside tx.
func sqliteBookingsOn(ctx context.Context, tx *wtx, from, to time.Time, nodes []string) ([]Booking, error) {
	q, args := bookingsQuery(from, to, nodes)
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return scanBookings(rows)
}

func bookingsQuery(from, to time.Time, nodes []string) (string, []any) {
	q := `SELECT ` + bookingCols + ` FROM sessions WHERE state IN ` + holdingIn() + ` AND start_at < ? AND end_at > ?`
	args := []any{ns(to), ns(from)}
	if len(nodes) > 0 {
		q += " AND node IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(nodes)), ", ") + ")"
		for _, n := range nodes {
			args = append(args, n)
		}
	}
	return q + " ORDER BY node, start_at", args
}

// bookingCols are the columns a Booking is read from.
const bookingCols = `id, node, user, class, state, start_at, end_at, cores, memory_mb, cpu_percent, bandwidth_kbps`

// peakOn is the peak held on node in [from, to) by holders other
// than except.
func (s *SQLite) peakOn(ctx context.Context, tx *wtx, node string, from, to time.Time, except string) (Capacity, error) {
	rows, err := s.txQuery(ctx, tx, `SELECT `+bookingCols+` FROM sessions
		WHERE node = ? AND state IN `+holdingIn()+` AND start_at < ? AND end_at > ? AND id <> ?`,
		node, ns(to), ns(from), except)
	if err != nil {
		return Capacity{}, err
	}
	bs, err := scanBookings(rows)
	if err != nil {
		return Capacity{}, err
	}
	return Peak(bs, from, to), nil
}

func scanBookings(rows *sql.Rows) ([]Booking, error) {
	defer rows.Close()
	var out []Booking
	for rows.Next() {
		var b Booking
		var state string
		var start, end int64
		if err := rows.Scan(&b.ID, &b.Node, &b.User, &b.Class, &state, &start, &end, &b.Capacity.Cores,
			&b.Capacity.MemoryMB, &b.Capacity.CPUPercent, &b.Capacity.BandwidthKbps); err != nil {
			return nil, err
		}
		b.State, b.Start, b.End, b.Capacity.Sessions = proto.State(state), fromNS(start), fromNS(end), 1
		out = append(out, b)
	}
	return out, rows.Err()
}

// sqliteCounts counts for checkQuota inside a transaction.
type sqliteCounts struct {
	ctx context.Context
	tx  *wtx
}

func (c sqliteCounts) count(q string, args ...any) (int, error) {
	var n int
	err := c.tx.QueryRowContext(c.ctx, q, args...).Scan(&n)
	return n, err
}

func (c sqliteCounts) userConcurrent(user string, from, to time.Time) (int, error) {
	return c.count(`SELECT COUNT(*) FROM sessions WHERE user = ? AND state IN `+holdingIn()+
		` AND start_at < ? AND end_at > ?`, user, ns(to), ns(from))
}

func (c sqliteCounts) userPerDay(user string, day time.Time) (int, error) {
	from, to := dayBounds(day)
	return c.count(`SELECT COUNT(*) FROM sessions WHERE user = ? AND state <> 'denied'
		AND start_at >= ? AND start_at < ?`, user, ns(from), ns(to))
}

func (c sqliteCounts) classConcurrent(class string, from, to time.Time) (int, error) {
	return c.count(`SELECT COUNT(*) FROM sessions WHERE class = ? AND state IN `+holdingIn()+
		` AND start_at < ? AND end_at > ?`, class, ns(to), ns(from))
}

// Bookings lists holders overlapping [from, to), of nodes if given.
func (s *SQLite) Bookings(ctx context.Context, from, to time.Time, nodes ...string) ([]Booking, error) {
	q, args := bookingsQuery(from, to, nodes)
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return scanBookings(rows)
}

// Reserved is the peak held per node over [from, to).
func (s *SQLite) Reserved(ctx context.Context, from, to time.Time) (map[string]Capacity, error) {
	bs, err := s.Bookings(ctx, from, to)
	if err != nil {
		return nil, err
	}
	return peaksByNode(bs, from, to), nil
}

// peaksByNode groups bookings by node and takes each node's peak.
func peaksByNode(bs []Booking, from, to time.Time) map[string]Capacity {
	byNode := map[string][]Booking{}
	for _, b := range bs {
		byNode[b.Node] = append(byNode[b.Node], b)
	}
	out := make(map[string]Capacity, len(byNode))
	for n, list := range byNode {
		out[n] = Peak(list, from, to)
	}
	return out
}

// Extend lengthens booked session id to end.
func (s *SQLite) Extend(ctx context.Context, id string, end time.Time, node Candidate, admit Admitter, q Quota) (Session, error) {
	err := s.tx(ctx, func(tx *wtx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = ?`, id)
		if err != nil {
			return err
		}
		list, err := scanSessions(rows)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return fmt.Errorf("session %s: %w", id, ErrNotFound)
		}
		cur := list[0]
		if err := checkExtend(cur, end, node, q); err != nil {
			return err
		}
		held, err := s.peakOn(ctx, tx, cur.Node, cur.End, end, id)
		if err != nil {
			return err
		}
		if why := admit.Admit(node, held, cur.Demand()); why != "" {
			return &ReserveError{Rejections: []Rejection{{Node: cur.Node, Reason: why}}}
		}
		tpl := cur.Template
		tpl.UsageTime = proto.Duration(end.Sub(cur.Start))
		b, _ := json.Marshal(tpl)
		_, err = tx.ExecContext(ctx, `UPDATE sessions SET end_at = ?, template = ?, updated = ?, seq = `+nextSeq+` WHERE id = ?`,
			ns(end), string(b), ns(time.Now()), id)
		return err
	})
	if err != nil {
		return Session{}, err
	}
	return s.Session(ctx, id)
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
	if !f.StartBy.IsZero() {
		where, args = append(where, "start_at <= ?"), append(args, ns(f.StartBy))
	}
	q := `SELECT ` + sessionCols + ` FROM sessions`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Latest > 0 {
		q = `SELECT * FROM (` + q + ` ORDER BY start_at DESC, id DESC LIMIT ` + strconv.Itoa(f.Latest) + `)`
	}
	rows, err := s.query(ctx, q+" ORDER BY created, id", args...)
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
		var trace string
		if err := rows.Scan(&s.ID, &s.User, &s.Class, &state, &s.Reason, &s.Node, &s.Account, &start, &end,
			&tpl, &conn, &usage, &s.Cores, &s.MemoryMB, &created, &updated,
			&s.CPUPercent, &s.BandwidthKbps, &trace); err != nil {
			return nil, err
		}
		if trace != "" {
			s.Trace = []byte(trace)
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
		connect = COALESCE(?, connect), usage = COALESCE(?, usage), updated = ?, seq = `+nextSeq+`
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

// Move re-places session id on another node.
func (s *SQLite) Move(ctx context.Context, id string, from proto.State, candidates []Candidate, admit Admitter, reason string) (string, error) {
	var chosen string
	err := s.tx(ctx, func(tx *wtx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = ?`, id)
		if err != nil {
			return err
		}
		list, err := scanSessions(rows)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return fmt.Errorf("session %s: %w", id, ErrNotFound)
		}
		cur := list[0]
		if cur.State != from {
			return &TransitionError{ID: id, From: string(from), To: string(proto.StateScheduled), Current: string(cur.State), Err: ErrStateChanged}
		}
		rej := &ReserveError{}
		for _, c := range candidates {
			held, err := s.peakOn(ctx, tx, c.Node, cur.Start, cur.End, id)
			if err != nil {
				return err
			}
			if why := admit.Admit(c, held, cur.Demand()); why != "" {
				rej.Rejections = append(rej.Rejections, Rejection{Node: c.Node, Reason: why})
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE sessions SET node = ?, state = 'scheduled', reason = ?, updated = ?, seq = `+nextSeq+` WHERE id = ?`,
				c.Node, strings.ReplaceAll(reason, "{node}", c.Node), ns(time.Now()), id); err != nil {
				return err
			}
			chosen = c.Node
			return nil
		}
		return rej
	})
	return chosen, err
}
