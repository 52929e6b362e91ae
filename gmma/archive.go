package gmma

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver
)

// Archive keeps GMMA history in SQLite: every session and application
// sample of a node, and every aggregate an aggregator publishes.
type Archive struct{ db *sql.DB }

const archiveSchema = `
CREATE TABLE IF NOT EXISTS session_samples (
  time INTEGER NOT NULL, node TEXT NOT NULL, session TEXT NOT NULL,
  processes INTEGER, cpu_percent REAL, mem_bytes INTEGER, disk_bytes INTEGER, bandwidth_kbps REAL);
CREATE INDEX IF NOT EXISTS session_samples_s ON session_samples(session, time);
CREATE TABLE IF NOT EXISTS app_samples (
  time INTEGER NOT NULL, node TEXT NOT NULL, session TEXT NOT NULL, app TEXT NOT NULL,
  procs INTEGER, cpu_percent REAL, rss_bytes INTEGER);
CREATE INDEX IF NOT EXISTS app_samples_a ON app_samples(app, time);
CREATE TABLE IF NOT EXISTS aggregates (
  time INTEGER NOT NULL, level TEXT NOT NULL, source TEXT NOT NULL, body TEXT NOT NULL);
`

// OpenArchive opens (creating) the SQLite archive at path.
func OpenArchive(path string) (*Archive, error) {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("gmma archive %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(archiveSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("gmma archive %s: schema: %w", path, err)
	}
	return &Archive{db: db}, nil
}

// Close closes the database.
func (a *Archive) Close() error { return a.db.Close() }

// AddSample stores one sample's sessions and applications in one transaction.
func (a *Archive) AddSample(node string, s Sample) error {
	tx, err := a.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	for _, u := range s.Sessions {
		t := u.Time.UnixNano()
		if _, err := tx.Exec(`INSERT INTO session_samples VALUES (?,?,?,?,?,?,?,?)`,
			t, node, u.Session, u.Processes, u.CPUPercent, int64(u.MemBytes), int64(u.DiskBytes), u.BandwidthKbps); err != nil {
			return fmt.Errorf("gmma archive: %w", err)
		}
		for _, ap := range u.Apps {
			if _, err := tx.Exec(`INSERT INTO app_samples VALUES (?,?,?,?,?,?,?)`,
				t, node, u.Session, ap.App, ap.Procs, ap.CPUPercent, int64(ap.RSSBytes)); err != nil {
				return fmt.Errorf("gmma archive: %w", err)
			}
		}
	}
	return tx.Commit()
}

// AddAggregate stores one published aggregate as JSON.
func (a *Archive) AddAggregate(level, source string, t time.Time, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = a.db.Exec(`INSERT INTO aggregates VALUES (?,?,?,?)`, t.UnixNano(), level, source, string(b))
	return err
}

// SessionCPU returns a session's archived CPU samples, oldest first.
func (a *Archive) SessionCPU(session string) ([]float64, error) {
	rows, err := a.db.Query(`SELECT cpu_percent FROM session_samples WHERE session = ? ORDER BY time`, session)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []float64
	for rows.Next() {
		var v float64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Aggregates counts the archived aggregates of a level.
func (a *Archive) Aggregates(level string) (int, error) {
	var n int
	err := a.db.QueryRow(`SELECT count(*) FROM aggregates WHERE level = ?`, level).Scan(&n)
	return n, err
}
