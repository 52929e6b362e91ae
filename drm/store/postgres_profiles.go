package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// Profiles lists the application profiles by name.
func (p *Postgres) Profiles(ctx context.Context) ([]Profile, error) {
	rows, err := p.pool.Query(ctx, `SELECT app, cpu_percent, bandwidth_kbps, samples, updated FROM profiles ORDER BY app`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Profile{}
	for rows.Next() {
		var pr Profile
		var upd int64
		if err := rows.Scan(&pr.App, &pr.CPUPercent, &pr.BandwidthKbps, &pr.Samples, &upd); err != nil {
			return nil, err
		}
		pr.Updated = fromNS(upd)
		out = append(out, pr)
	}
	return out, rows.Err()
}

// SeedProfiles inserts the profiles not stored yet.
func (p *Postgres) SeedProfiles(ctx context.Context, ps []Profile) error {
	return p.tx(ctx, func(tx pgx.Tx) error {
		for _, pr := range ps {
			if _, err := tx.Exec(ctx, `INSERT INTO profiles (app, cpu_percent, bandwidth_kbps, samples, updated)
				VALUES ($1, $2, $3, 0, $4) ON CONFLICT (app) DO NOTHING`, pr.App, pr.CPUPercent, pr.BandwidthKbps, ns(pr.Updated)); err != nil {
				return err
			}
		}
		return nil
	})
}

// ObserveProfile folds a measurement into app's profile, under the row's
// lock.
func (p *Postgres) ObserveProfile(ctx context.Context, app string, cpu, bw float64, at time.Time) (Profile, error) {
	if err := checkObservation(app, cpu, bw); err != nil {
		return Profile{}, err
	}
	var out Profile
	err := p.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "profile:"+app); err != nil {
			return err
		}
		cur := Profile{App: app}
		var upd int64
		err := tx.QueryRow(ctx, `SELECT cpu_percent, bandwidth_kbps, samples, updated FROM profiles WHERE app = $1`, app).
			Scan(&cur.CPUPercent, &cur.BandwidthKbps, &cur.Samples, &upd)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		out = fold(cur, cpu, bw, at)
		_, err = tx.Exec(ctx, `INSERT INTO profiles (app, cpu_percent, bandwidth_kbps, samples, updated)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (app) DO UPDATE SET cpu_percent = excluded.cpu_percent,
			bandwidth_kbps = excluded.bandwidth_kbps, samples = excluded.samples, updated = excluded.updated`,
			app, out.CPUPercent, out.BandwidthKbps, out.Samples, ns(at))
		return err
	})
	return out, err
}
