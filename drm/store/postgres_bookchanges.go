package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// BookChanges reads the whole book (cursor 0) or the sessions written by
// transactions from cursor on (chg, migration 5), in one REPEATABLE READ
// transaction whose snapshot's xmin is the next cursor: a transaction
// below it had ended before the read, so it was seen then, and anything
// written later has a transaction id at or above it. Rows of
// transactions still open at the read come again next time.
func (p *Postgres) BookChanges(ctx context.Context, cursor int64, since time.Time) ([]Booking, int64, error) {
	var bs []Booking
	var next int64
	err := pgx.BeginTxFunc(ctx, p.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint`).Scan(&next); err != nil {
			return err
		}
		var err error
		if cursor == 0 {
			bs, err = pgBookings(ctx, tx, `SELECT `+pgBookingCols+` FROM sessions WHERE state = ANY(`+pgHolding+`) AND end_at > $1`, ns(since))
		} else {
			bs, err = pgBookings(ctx, tx, `SELECT `+pgBookingCols+` FROM sessions WHERE chg >= $1 ORDER BY chg`, cursor)
		}
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return bs, max(next, cursor), nil
}
