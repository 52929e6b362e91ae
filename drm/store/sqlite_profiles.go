package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Profiles lists the application profiles by name.
func (s *SQLite) Profiles(ctx context.Context) ([]Profile, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT app, cpu_percent, bandwidth_kbps, samples, updated FROM profiles ORDER BY app`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Profile{}
	for rows.Next() {
		var p Profile
		var upd int64
		if err := rows.Scan(&p.App, &p.CPUPercent, &p.BandwidthKbps, &p.Samples, &upd); err != nil {
			return nil, err
		}
		p.Updated = fromNS(upd)
		out = append(out, p)
	}
	return out, rows.Err()
}

// SeedProfiles inserts the profiles not stored yet.
func (s *SQLite) SeedProfiles(ctx context.Context, ps []Profile) error {
	return s.tx(ctx, func(tx *wtx) error {
		for _, p := range ps {
			if _, err := tx.ExecContext(ctx, `INSERT INTO profiles (app, cpu_percent, bandwidth_kbps, samples, updated)
				VALUES (?, ?, ?, 0, ?) ON CONFLICT (app) DO NOTHING`, p.App, p.CPUPercent, p.BandwidthKbps, ns(p.Updated)); err != nil {
				return err
			}
		}
		return nil
	})
}

// ObserveProfile folds a measurement into app's profile.
func (s *SQLite) ObserveProfile(ctx context.Context, app string, cpu, bw float64, at time.Time) (Profile, error) {
	if err := checkObservation(app, cpu, bw); err != nil {
		return Profile{}, err
	}
	var out Profile
	err := s.tx(ctx, func(tx *wtx) error {
		cur := Profile{App: app}
		var upd int64
		err := tx.QueryRowContext(ctx, `SELECT cpu_percent, bandwidth_kbps, samples, updated FROM profiles WHERE app = ?`, app).
			Scan(&cur.CPUPercent, &cur.BandwidthKbps, &cur.Samples, &upd)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		out = fold(cur, cpu, bw, at)
		_, err = tx.ExecContext(ctx, `INSERT INTO profiles (app, cpu_percent, bandwidth_kbps, samples, updated)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (app) DO UPDATE SET cpu_percent = excluded.cpu_percent,
			bandwidth_kbps = excluded.bandwidth_kbps, samples = excluded.samples, updated = excluded.updated`,
			app, out.CPUPercent, out.BandwidthKbps, out.Samples, ns(at))
		return err
	})
	return out, err
}
