package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/igrid/igrid/internal/proto"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const pgSessionCols = `id, user_name, class, state, reason, node, account, start_at, end_at,
	template, connect, usage, cores, memory_mb, created, updated, cpu_percent, bandwidth_kbps, trace`

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
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
		s.ID, s.User, s.Class, string(s.State), s.Reason, s.Node, s.Account, ns(s.Start), ns(s.End),
		string(tpl), string(conn), string(usage), s.Cores, s.MemoryMB, ns(s.Created), ns(s.Updated),
		s.CPUPercent, s.BandwidthKbps, string(s.Trace))
	if pgCode(err) == pgUniqueViolation {
		return fmt.Errorf("session %s: %w", s.ID, ErrExists)
	}
	return err
}

// Reserve admits and inserts s on the first candidate that fits, in one
// transaction.
func (p *Postgres) Reserve(ctx context.Context, sess Session, candidates []Candidate, admit Admitter) (string, error) {
	sess.State = proto.StateScheduled
	return p.Book(ctx, BookRequest{Session: sess, Candidates: candidates, Admit: admit, Now: time.Now()})
}

// Book checks quotas and capacity and inserts the session in one
// transaction, retried when PostgreSQL aborts it for a deadlock or a
// serialisation failure. Quota counts run under transaction advisory
// locks on the user and the class, so two bookings of one user cannot
// both pass a count; each candidate is tried under a savepoint that locks
// its capacity row, and a refused candidate's savepoint is rolled back,
// releasing the lock, so a booking holds at most one node lock at a time.
func (p *Postgres) Book(ctx context.Context, r BookRequest) (string, error) {
	if r.Session.State != proto.StateQueued {
		r.Session.State = proto.StateScheduled
	}
	var node string
	var err error
	for attempt := 0; attempt < pgRetries; attempt++ {
		node, err = p.bookOnce(ctx, r)
		if c := pgCode(err); c != pgDeadlock && c != pgSerialization {
			break
		}
	}
	return node, err
}

func (p *Postgres) bookOnce(ctx context.Context, r BookRequest) (string, error) {
	var chosen string
	err := p.tx(ctx, func(tx pgx.Tx) error {
		if err := p.lockQuota(ctx, tx, r); err != nil {
			return err
		}
		if err := checkQuota(r.Quota, r.Session, r.Now, pgCounts{ctx, tx}); err != nil {
			return err
		}
		rej := &ReserveError{}
		for _, c := range r.Candidates {
			why, err := p.tryCandidate(ctx, tx, r.Session, c, r.Admit, func(s *Session) {
				if r.Prepare != nil {
					r.Prepare(s, rej.Rejections)
				}
			})
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

// lockQuota takes the advisory locks the counted quotas need.
func (p *Postgres) lockQuota(ctx context.Context, tx pgx.Tx, r BookRequest) error {
	var keys []string
	if r.Quota.MaxConcurrent > 0 || r.Quota.MaxPerDay > 0 {
		keys = append(keys, "user:"+r.Session.User)
	}
	if r.Quota.ClassMaxConcurrent > 0 {
		keys = append(keys, "class:"+r.Session.Class)
	}
	for _, k := range keys { // always user before class: one lock order
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, k); err != nil {
			return err
		}
	}
	return nil
}

// tryCandidate places sess on c inside a savepoint of tx. It returns the
// reason c was refused, or "" when sess is now inserted on c.
func (p *Postgres) tryCandidate(ctx context.Context, tx pgx.Tx, sess Session, c Candidate, admit Admitter, prepare func(*Session)) (string, error) {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return "", err
	}
	why, err := p.placeOn(ctx, sp, sess, c, admit, prepare)
	if err != nil || why != "" {
		if rerr := sp.Rollback(ctx); rerr != nil && err == nil {
			err = rerr
		}
		return why, err
	}
	return "", sp.Commit(ctx)
}

func (p *Postgres) placeOn(ctx context.Context, tx pgx.Tx, sess Session, c Candidate, admit Admitter, prepare func(*Session)) (string, error) {
	if err := pgLockNodes(ctx, tx, []Candidate{c}); err != nil {
		return "", err
	}
	held, err := pgPeakOn(ctx, tx, c.Node, sess.Start, sess.End, "")
	if err != nil {
		return "", err
	}
	if why := admit.Admit(c, held, sess.Demand()); why != "" {
		return why, nil
	}
	sess.Node = c.Node
	prepare(&sess)
	err = pgInsertSession(ctx, tx, sess)
	if pgCode(err) == pgOvercommit {
		return "refused by the database: " + pgMessage(err), nil
	}
	return "", err
}

// pgLockNodes makes sure each candidate has a capacity row and locks
// them, in name order so that two lockers of several nodes cannot deadlock.
func pgLockNodes(ctx context.Context, tx pgx.Tx, cands []Candidate) error {
	sorted := slices.Clone(cands)
	slices.SortFunc(sorted, func(a, b Candidate) int { return strings.Compare(a.Node, b.Node) })
	names := make([]string, len(sorted))
	for i, c := range sorted {
		if _, err := tx.Exec(ctx, `INSERT INTO node_capacity (node, cores, memory_mb, cpu_percent, bandwidth_kbps, slots)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (node) DO NOTHING`, c.Node, c.Capacity.Cores, c.Capacity.MemoryMB,
			c.Capacity.CPUPercent, c.Capacity.BandwidthKbps, c.Capacity.Sessions); err != nil {
			return err
		}
		names[i] = c.Node
	}
	_, err := tx.Exec(ctx, `SELECT 1 FROM node_capacity WHERE node = ANY($1) ORDER BY node FOR UPDATE`, names)
	return err
}

// BookEarliest books at the earliest feasible start with every
// candidate's capacity row locked, so no other booking changes their
// books between the search and the insert; the trigger checks the row.
func (p *Postgres) BookEarliest(ctx context.Context, r BookRequest, last time.Time) (Session, error) {
	var out Session
	var err error
	for attempt := 0; attempt < pgRetries; attempt++ {
		out, err = p.bookEarliestOnce(ctx, r, last)
		if c := pgCode(err); c != pgDeadlock && c != pgSerialization {
			break
		}
	}
	return out, err
}

func (p *Postgres) bookEarliestOnce(ctx context.Context, r BookRequest, last time.Time) (Session, error) {
	sess := r.Session
	err := p.tx(ctx, func(tx pgx.Tx) error {
		if err := p.lockQuota(ctx, tx, r); err != nil {
			return err
		}
		if err := pgLockNodes(ctx, tx, r.Candidates); err != nil {
			return err
		}
		d := sess.End.Sub(sess.Start)
		q := `SELECT ` + pgBookingCols + ` FROM sessions WHERE state = ANY(` + pgHolding + `) AND start_at < $1 AND end_at > $2`
		args := []any{ns(last.Add(d)), ns(sess.Start)}
		if nodes := candidateNodes(r.Candidates); nodes != nil {
			q += ` AND node = ANY($3)`
			args = append(args, nodes)
		}
		bs, err := pgBookings(ctx, tx, q, args...)
		if err != nil {
			return err
		}
		c, at, ok, rej := earliestAmong(bs, r.Candidates, sess.Start, last, d, r.Admit, sess.Demand())
		if !ok {
			return &ReserveError{Rejections: rej}
		}
		placeAt(&sess, c.Node, at)
		if err := checkQuota(r.Quota, sess, r.Now, pgCounts{ctx, tx}); err != nil {
			return err
		}
		if r.Prepare != nil {
			r.Prepare(&sess, rej)
		}
		err = pgInsertSession(ctx, tx, sess)
		if pgCode(err) == pgOvercommit {
			return &ReserveError{Rejections: []Rejection{{Node: c.Node, Reason: "refused by the database: " + pgMessage(err)}}}
		}
		return err
	})
	if err != nil {
		return Session{}, err
	}
	return sess, nil
}

// pgBookingCols are the columns a Booking is read from.
const pgBookingCols = `id, node, user_name, class, state, start_at, end_at, cores, memory_mb, cpu_percent, bandwidth_kbps`

// pgQuerier is a pool or a transaction.
type pgQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// pgPeakOn is the peak held on node in [from, to) by holders other than
// except.
func pgPeakOn(ctx context.Context, q pgQuerier, node string, from, to time.Time, except string) (Capacity, error) {
	bs, err := pgBookings(ctx, q, `SELECT `+pgBookingCols+` FROM sessions WHERE node = $1 AND state = ANY(`+pgHolding+`)
		AND start_at < $2 AND end_at > $3 AND id <> $4`, node, ns(to), ns(from), except)
	if err != nil {
		return Capacity{}, err
	}
	return Peak(bs, from, to), nil
}

func pgBookings(ctx context.Context, q pgQuerier, sql string, args ...any) ([]Booking, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
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

// Bookings lists holders overlapping [from, to), of nodes if given.
func (p *Postgres) Bookings(ctx context.Context, from, to time.Time, nodes ...string) ([]Booking, error) {
	q := `SELECT ` + pgBookingCols + ` FROM sessions WHERE state = ANY(` + pgHolding + `) AND start_at < $1 AND end_at > $2`
	args := []any{ns(to), ns(from)}
	if len(nodes) > 0 {
		q += ` AND node = ANY($3)`
		args = append(args, nodes)
	}
	return pgBookings(ctx, p.pool, q+` ORDER BY node, start_at`, args...)
}

// Reserved is the peak held per node over [from, to).
func (p *Postgres) Reserved(ctx context.Context, from, to time.Time) (map[string]Capacity, error) {
	bs, err := p.Bookings(ctx, from, to)
	if err != nil {
		return nil, err
	}
	return peaksByNode(bs, from, to), nil
}

// pgCounts counts for checkQuota inside a transaction.
type pgCounts struct {
	ctx context.Context
	tx  pgx.Tx
}

func (c pgCounts) count(q string, args ...any) (int, error) {
	var n int
	err := c.tx.QueryRow(c.ctx, q, args...).Scan(&n)
	return n, err
}

func (c pgCounts) userConcurrent(user string, from, to time.Time) (int, error) {
	return c.count(`SELECT COUNT(*) FROM sessions WHERE user_name = $1 AND state = ANY(`+pgHolding+`)
		AND start_at < $2 AND end_at > $3`, user, ns(to), ns(from))
}

func (c pgCounts) userPerDay(user string, day time.Time) (int, error) {
	from, to := dayBounds(day)
	return c.count(`SELECT COUNT(*) FROM sessions WHERE user_name = $1 AND state <> 'denied'
		AND start_at >= $2 AND start_at < $3`, user, ns(from), ns(to))
}

func (c pgCounts) classConcurrent(class string, from, to time.Time) (int, error) {
	return c.count(`SELECT COUNT(*) FROM sessions WHERE class = $1 AND state = ANY(`+pgHolding+`)
		AND start_at < $2 AND end_at > $3`, class, ns(to), ns(from))
}

// Extend lengthens booked session id to end, under its node's capacity
// row lock; the trigger checks the grown row again.
func (p *Postgres) Extend(ctx context.Context, id string, end time.Time, node Candidate, admit Admitter, q Quota) (Session, error) {
	err := p.tx(ctx, func(tx pgx.Tx) error {
		list, err := p.querySessionsOn(ctx, tx, `SELECT `+pgSessionCols+` FROM sessions WHERE id = $1 FOR UPDATE`, id)
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
		if _, err := tx.Exec(ctx, `SELECT 1 FROM node_capacity WHERE node = $1 FOR UPDATE`, cur.Node); err != nil {
			return err
		}
		held, err := pgPeakOn(ctx, tx, cur.Node, cur.End, end, id)
		if err != nil {
			return err
		}
		if why := admit.Admit(node, held, cur.Demand()); why != "" {
			return &ReserveError{Rejections: []Rejection{{Node: cur.Node, Reason: why}}}
		}
		tpl := cur.Template
		tpl.UsageTime = proto.Duration(end.Sub(cur.Start))
		b, _ := json.Marshal(tpl)
		_, err = tx.Exec(ctx, `UPDATE sessions SET end_at = $1, template = $2, updated = $3 WHERE id = $4`,
			ns(end), string(b), ns(time.Now()), id)
		if pgCode(err) == pgOvercommit {
			return &ReserveError{Rejections: []Rejection{{Node: cur.Node, Reason: "refused by the database: " + pgMessage(err)}}}
		}
		return err
	})
	if err != nil {
		return Session{}, err
	}
	return p.Session(ctx, id)
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
	if !f.StartBy.IsZero() {
		args = append(args, ns(f.StartBy))
		where = append(where, fmt.Sprintf("start_at <= $%d", len(args)))
	}
	q := `SELECT ` + pgSessionCols + ` FROM sessions`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Latest > 0 {
		q = `SELECT * FROM (` + q + ` ORDER BY start_at DESC, id DESC LIMIT ` + strconv.Itoa(f.Latest) + `) latest`
	}
	return p.querySessions(ctx, q+" ORDER BY created, id", args...)
}

func (p *Postgres) querySessions(ctx context.Context, q string, args ...any) ([]Session, error) {
	return p.querySessionsOn(ctx, p.pool, q, args...)
}

func (p *Postgres) querySessionsOn(ctx context.Context, db pgQuerier, q string, args ...any) ([]Session, error) {
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
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

// Move re-places session id on another node; the trigger checks the
// moved row against its new node.
func (p *Postgres) Move(ctx context.Context, id string, from proto.State, candidates []Candidate, admit Admitter, reason string) (string, error) {
	var chosen string
	err := p.tx(ctx, func(tx pgx.Tx) error {
		list, err := p.querySessionsOn(ctx, tx, `SELECT `+pgSessionCols+` FROM sessions WHERE id = $1 FOR UPDATE`, id)
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
			why, err := p.moveOn(ctx, tx, cur, c, admit, strings.ReplaceAll(reason, "{node}", c.Node))
			if err != nil {
				return err
			}
			if why == "" {
				chosen = c.Node
				return nil
			}
			rej.Rejections = append(rej.Rejections, Rejection{Node: c.Node, Reason: why})
		}
		return rej
	})
	return chosen, err
}

func (p *Postgres) moveOn(ctx context.Context, tx pgx.Tx, cur Session, c Candidate, admit Admitter, reason string) (string, error) {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return "", err
	}
	defer sp.Rollback(ctx)
	if _, err := sp.Exec(ctx, `INSERT INTO node_capacity (node, cores, memory_mb, cpu_percent, bandwidth_kbps, slots)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (node) DO NOTHING`, c.Node, c.Capacity.Cores, c.Capacity.MemoryMB,
		c.Capacity.CPUPercent, c.Capacity.BandwidthKbps, c.Capacity.Sessions); err != nil {
		return "", err
	}
	if _, err := sp.Exec(ctx, `SELECT 1 FROM node_capacity WHERE node = $1 FOR UPDATE`, c.Node); err != nil {
		return "", err
	}
	held, err := pgPeakOn(ctx, sp, c.Node, cur.Start, cur.End, cur.ID)
	if err != nil {
		return "", err
	}
	if why := admit.Admit(c, held, cur.Demand()); why != "" {
		return why, nil
	}
	_, err = sp.Exec(ctx, `UPDATE sessions SET node = $1, state = 'scheduled', reason = $2, updated = $3 WHERE id = $4`,
		c.Node, reason, ns(time.Now()), cur.ID)
	if pgCode(err) == pgOvercommit {
		return "refused by the database: " + pgMessage(err), nil
	}
	if err != nil {
		return "", err
	}
	return "", sp.Commit(ctx)
}
