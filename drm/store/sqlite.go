package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// SQLite is the embedded Store: one database file in WAL mode. Every write
// transaction begins IMMEDIATE (the DSN's _txlock), so writers are
// serialised by SQLite itself and a reservation's read-check-insert cannot
// interleave with another's.
type SQLite struct {
	db *sql.DB
	// wmu queues this process's writers in Go, so they wait their turn
	// instead of polling SQLite's busy handler (and never see SQLITE_BUSY
	// under load); other processes on the file still get busy_timeout.
	wmu sync.Mutex
	// gmu guards group, the Book calls waiting for the next group commit
	// (sqlite_group.go).
	gmu   sync.Mutex
	group bookGroup
	stmts stmtCache // sqlite_stmts.go; reads
	// wconn is the writer connection and wstmts its prepared statements
	// (sqlite_writer.go), both used under wmu only.
	wconn  *sql.Conn
	wstmts map[string]*sql.Stmt
	// stopCkpt stops the background checkpointer (sqlite_checkpoint.go).
	stopCkpt func()
}

var _ Store = (*SQLite)(nil)

// DSN returns the modernc.org/sqlite data source name igrid uses for path.
func DSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "wal_autocheckpoint(0)") // sqlite_checkpoint.go
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// OpenSQLite opens (creating if needed) the database at path and applies
// every pending migration.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	db, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	s := &SQLite{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	s.stopCkpt = s.checkpointer()
	return s, nil
}

// migrate applies the migrations not yet recorded, all in one transaction.
func (s *SQLite) migrate(ctx context.Context) error {
	return s.tx(ctx, func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)`); err != nil {
			return err
		}
		var have int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
			return err
		}
		if have > len(migrations) {
			return fmt.Errorf("database schema version %d is newer than this binary's %d", have, len(migrations))
		}
		for v := have + 1; v <= len(migrations); v++ {
			if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES (?, ?)`,
				v, ns(time.Now())); err != nil {
				return err
			}
		}
		return nil
	})
}

// SchemaVersion returns the highest applied migration.
func (s *SQLite) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// Close closes the database.
func (s *SQLite) Close() error {
	if s.stopCkpt != nil {
		s.stopCkpt()
	}
	s.stmts.close()
	s.wmu.Lock()
	s.dropWriter()
	s.wmu.Unlock()
	return s.db.Close()
}

// CreateUser inserts u and its keys.
func (s *SQLite) CreateUser(ctx context.Context, u User) error {
	return s.tx(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (name, password_hash, class, admin, created)
			VALUES (?, ?, ?, ?, ?)`, u.Name, u.PasswordHash, u.Class, u.Admin, ns(u.Created))
		if isUnique(err) {
			return fmt.Errorf("user %q: %w", u.Name, ErrExists)
		}
		if err != nil {
			return err
		}
		for _, k := range u.SSHKeys {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO ssh_keys (user, key) VALUES (?, ?)`, u.Name, k); err != nil {
				return err
			}
		}
		return nil
	})
}

// User returns a user with its keys.
func (s *SQLite) User(ctx context.Context, name string) (User, error) {
	u := User{Name: name}
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT password_hash, class, admin, created FROM users WHERE name = ?`, name).
		Scan(&u.PasswordHash, &u.Class, &u.Admin, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return u, err
	}
	u.Created = fromNS(created)
	rows, err := s.db.QueryContext(ctx, `SELECT key FROM ssh_keys WHERE user = ? ORDER BY id`, name)
	if err != nil {
		return u, err
	}
	defer rows.Close()
	u.SSHKeys = []string{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return u, err
		}
		u.SSHKeys = append(u.SSHKeys, k)
	}
	return u, rows.Err()
}

// AddSSHKey appends a key to a user's keys.
func (s *SQLite) AddSSHKey(ctx context.Context, user, key string) error {
	return s.tx(ctx, func(tx *wtx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE name = ?`, user).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("user %q: %w", user, ErrNotFound)
		}
		_, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO ssh_keys (user, key) VALUES (?, ?)`, user, key)
		return err
	})
}

// CreateToken stores a token hash.
func (s *SQLite) CreateToken(ctx context.Context, t Token) error {
	_, err := s.exec(ctx, `INSERT INTO tokens (hash, user, created, expires) VALUES (?, ?, ?, ?)`,
		t.Hash, t.User, ns(t.Created), ns(t.Expires))
	if isUnique(err) {
		return fmt.Errorf("token: %w", ErrExists)
	}
	if err != nil && strings.Contains(err.Error(), "FOREIGN KEY") {
		return fmt.Errorf("user %q: %w", t.User, ErrNotFound)
	}
	return err
}

// TokenUser resolves an unexpired token hash to its user.
func (s *SQLite) TokenUser(ctx context.Context, hash string, now time.Time) (string, error) {
	var user string
	err := s.db.QueryRowContext(ctx, `SELECT user FROM tokens WHERE hash = ? AND expires > ?`, hash, ns(now)).Scan(&user)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("token: %w", ErrNotFound)
	}
	return user, err
}

// UpsertNode records a node.
func (s *SQLite) UpsertNode(ctx context.Context, n Node) error {
	info, err := json.Marshal(n.Info)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO nodes (name, info, last_seen, ssh_host, ssh_port) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET info = excluded.info, last_seen = excluded.last_seen,
		ssh_host = excluded.ssh_host, ssh_port = excluded.ssh_port`,
		n.Info.Name, string(info), ns(n.LastSeen), n.SSHHost, n.SSHPort)
	return err
}

// Nodes lists the registered nodes.
func (s *SQLite) Nodes(ctx context.Context) ([]Node, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT info, last_seen, ssh_host, ssh_port FROM nodes ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Node
	for rows.Next() {
		var n Node
		var info string
		var seen int64
		if err := rows.Scan(&info, &seen, &n.SSHHost, &n.SSHPort); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(info), &n.Info); err != nil {
			return nil, fmt.Errorf("node info: %w", err)
		}
		n.LastSeen = fromNS(seen)
		out = append(out, n)
	}
	return out, rows.Err()
}

// ns stores times as UTC Unix nanoseconds, so SQL can compare them.
func ns(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNS(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func isUnique(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "UNIQUE constraint failed") ||
		strings.Contains(err.Error(), "PRIMARY KEY"))
}

// holdingIn is the SQL list of the states that hold capacity.
func holdingIn() string {
	var q []string
	for _, s := range HoldingStates() {
		q = append(q, "'"+string(s)+"'")
	}
	return "(" + strings.Join(q, ", ") + ")"
}
