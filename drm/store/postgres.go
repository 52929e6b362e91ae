package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Postgres is the Store shared by several DRM processes: a pgx pool on one
// PostgreSQL database. Reservations lock the node's capacity row, and a
// trigger on sessions refuses any row that would over-commit its node, so
// capacity is protected by the database whoever writes.
type Postgres struct {
	pool *pgxpool.Pool
	url  string
}

var _ Store = (*Postgres)(nil)

// IsPostgresURL reports whether dsn names a PostgreSQL database.
func IsPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// OpenPostgres connects to the database at url (postgres://…) and applies
// every pending migration.
func OpenPostgres(ctx context.Context, url string) (*Postgres, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres url: %w", err)
	}
	if cfg.MaxConns < 16 {
		cfg.MaxConns = 16
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	p := &Postgres{pool: pool, url: url}
	if err := p.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("migrate postgres: %w", err)
	}
	return p, nil
}

// URL is the connection string the store was opened with.
func (p *Postgres) URL() string { return p.url }

// Pool is the connection pool, for tests and tools that need raw SQL.
func (p *Postgres) Pool() *pgxpool.Pool { return p.pool }

// pgMigrateLock serialises migrations of DRM processes starting together.
const pgMigrateLock = 0x69677269640001 // "igrid" 0001

// migrate applies the migrations not yet recorded, in one transaction
// under an advisory lock.
func (p *Postgres) migrate(ctx context.Context) error {
	return p.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(pgMigrateLock)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, applied BIGINT NOT NULL)`); err != nil {
			return err
		}
		var have int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
			return err
		}
		if have > len(pgMigrations) {
			return fmt.Errorf("database schema version %d is newer than this binary's %d", have, len(pgMigrations))
		}
		for v := have + 1; v <= len(pgMigrations); v++ {
			if _, err := tx.Exec(ctx, pgMigrations[v-1]); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied) VALUES ($1, $2)`,
				v, ns(time.Now())); err != nil {
				return err
			}
		}
		return nil
	})
}

// SchemaVersion returns the highest applied migration.
func (p *Postgres) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := p.pool.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// Close closes the pool.
func (p *Postgres) Close() error {
	p.pool.Close()
	return nil
}

// tx runs fn in a transaction, committing when it returns nil.
func (p *Postgres) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, p.pool, fn)
}

// pgCode returns the SQLSTATE of a PostgreSQL error, "" for others.
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

const (
	pgUniqueViolation     = "23505"
	pgForeignKeyViolation = "23503"
	pgDeadlock            = "40P01"
	pgSerialization       = "40001"
)

// CreateUser inserts u and its keys.
func (p *Postgres) CreateUser(ctx context.Context, u User) error {
	return p.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO users (name, password_hash, class, admin, created)
			VALUES ($1, $2, $3, $4, $5)`, u.Name, u.PasswordHash, u.Class, u.Admin, ns(u.Created))
		if pgCode(err) == pgUniqueViolation {
			return fmt.Errorf("user %q: %w", u.Name, ErrExists)
		}
		if err != nil {
			return err
		}
		for _, k := range u.SSHKeys {
			if _, err := tx.Exec(ctx, `INSERT INTO ssh_keys (user_name, key) VALUES ($1, $2)
				ON CONFLICT DO NOTHING`, u.Name, k); err != nil {
				return err
			}
		}
		return nil
	})
}

// User returns a user with its keys.
func (p *Postgres) User(ctx context.Context, name string) (User, error) {
	u := User{Name: name}
	var created int64
	err := p.pool.QueryRow(ctx, `SELECT password_hash, class, admin, created FROM users WHERE name = $1`, name).
		Scan(&u.PasswordHash, &u.Class, &u.Admin, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return u, err
	}
	u.Created = fromNS(created)
	rows, err := p.pool.Query(ctx, `SELECT key FROM ssh_keys WHERE user_name = $1 ORDER BY id`, name)
	if err != nil {
		return u, err
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return u, err
	}
	u.SSHKeys = append([]string{}, keys...)
	return u, nil
}

// AddSSHKey appends a key to a user's keys.
func (p *Postgres) AddSSHKey(ctx context.Context, user, key string) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO ssh_keys (user_name, key) VALUES ($1, $2) ON CONFLICT DO NOTHING`, user, key)
	if pgCode(err) == pgForeignKeyViolation {
		return fmt.Errorf("user %q: %w", user, ErrNotFound)
	}
	return err
}

// CreateToken stores a token hash.
func (p *Postgres) CreateToken(ctx context.Context, t Token) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO tokens (hash, user_name, created, expires) VALUES ($1, $2, $3, $4)`,
		t.Hash, t.User, ns(t.Created), ns(t.Expires))
	switch pgCode(err) {
	case pgUniqueViolation:
		return fmt.Errorf("token: %w", ErrExists)
	case pgForeignKeyViolation:
		return fmt.Errorf("user %q: %w", t.User, ErrNotFound)
	}
	return err
}

// TokenUser resolves an unexpired token hash to its user.
func (p *Postgres) TokenUser(ctx context.Context, hash string, now time.Time) (string, error) {
	var user string
	err := p.pool.QueryRow(ctx, `SELECT user_name FROM tokens WHERE hash = $1 AND expires > $2`, hash, ns(now)).Scan(&user)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("token: %w", ErrNotFound)
	}
	return user, err
}

// UpsertNode records a node and the capacity the database enforces on it.
func (p *Postgres) UpsertNode(ctx context.Context, n Node) error {
	info, err := json.Marshal(n.Info)
	if err != nil {
		return err
	}
	return p.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO nodes (name, info, last_seen, ssh_host, ssh_port) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (name) DO UPDATE SET info = excluded.info, last_seen = excluded.last_seen,
			ssh_host = excluded.ssh_host, ssh_port = excluded.ssh_port`,
			n.Info.Name, string(info), ns(n.LastSeen), n.SSHHost, n.SSHPort); err != nil {
			return err
		}
		// Only write when the capacity changed, so beats do not queue
		// behind reservations holding the row lock.
		_, err := tx.Exec(ctx, `INSERT INTO node_capacity (node, cores, memory_mb, bandwidth_kbps, slots)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (node) DO UPDATE SET cores = excluded.cores, memory_mb = excluded.memory_mb,
			bandwidth_kbps = excluded.bandwidth_kbps, slots = excluded.slots
			WHERE node_capacity.cores <> excluded.cores OR node_capacity.memory_mb <> excluded.memory_mb
			OR node_capacity.bandwidth_kbps <> excluded.bandwidth_kbps OR node_capacity.slots <> excluded.slots`,
			n.Info.Name, n.Info.CPU.Cores, n.Info.MemoryMB, n.Info.BandwidthKbps, n.Info.MaxSessions)
		return err
	})
}

// Nodes lists the registered nodes.
func (p *Postgres) Nodes(ctx context.Context) ([]Node, error) {
	rows, err := p.pool.Query(ctx, `SELECT info, last_seen, ssh_host, ssh_port FROM nodes ORDER BY name`)
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
