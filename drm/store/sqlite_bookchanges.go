package store

import (
	"context"
	"database/sql"
	"time"
)

// BookChanges reads the whole book (cursor 0) or the sessions written
// from cursor on, numbered by seq (migration 5), in one read transaction:
// the cursor returned is the first number it did not see.
func (s *SQLite) BookChanges(ctx context.Context, cursor int64, since time.Time) ([]Booking, int64, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback()
	var next int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM sessions`).Scan(&next); err != nil {
		return nil, 0, err
	}
	var rows *sql.Rows
	if cursor == 0 {
		rows, err = tx.QueryContext(ctx, `SELECT `+bookingCols+` FROM sessions WHERE state IN `+holdingIn()+
			` AND end_at > ?`, ns(since))
	} else {
		rows, err = tx.QueryContext(ctx, `SELECT `+bookingCols+` FROM sessions WHERE seq >= ? AND seq < ? ORDER BY seq`,
			cursor, next)
	}
	if err != nil {
		return nil, 0, err
	}
	bs, err := scanBookings(rows)
	if err != nil {
		return nil, 0, err
	}
	return bs, max(next, cursor), nil
}
