package store

import (
	"context"
	"strings"
	"testing"
)

// TestSQLiteQueryPlans checks, with EXPLAIN QUERY PLAN, that every read on
// sessions the scheduler, the quotas and the dispatcher run seeks the index
// named (and never scans the table) after migration 4 dropped and merged
// indexes.
func TestSQLiteQueryPlans(t *testing.T) {
	s := newTestSQLite(t).(*SQLite)
	defer s.Close()
	h := holdingIn()
	cases := []struct {
		name, query, index string
		args               []any
	}{
		{"node book", `SELECT ` + bookingCols + ` FROM sessions WHERE node = ? AND state IN ` + h +
			` AND start_at < ? AND end_at > ? AND id <> ?`, "sessions_node_state", []any{"n", 1, 0, ""}},
		{"bookings of nodes", `SELECT ` + bookingCols + ` FROM sessions WHERE state IN ` + h +
			` AND start_at < ? AND end_at > ? AND node IN (?, ?) ORDER BY node, start_at`, "sessions_node_state", []any{1, 0, "a", "b"}},
		{"user history", `SELECT ` + sessionCols + ` FROM sessions WHERE user = ? AND state IN (?, ?)
			ORDER BY start_at DESC, id DESC LIMIT 20`, "sessions_user_state", []any{"u", "ended", "running"}},
		{"user sessions", `SELECT ` + sessionCols + ` FROM sessions WHERE user = ? ORDER BY created, id`,
			"sessions_user_state", []any{"u"}},
		{"user concurrent", `SELECT COUNT(*) FROM sessions WHERE user = ? AND state IN ` + h +
			` AND start_at < ? AND end_at > ?`, "sessions_user_state", []any{"u", 1, 0}},
		{"user per day", `SELECT COUNT(*) FROM sessions WHERE user = ? AND state <> 'denied'
			AND start_at >= ? AND start_at < ?`, "sessions_user_state", []any{"u", 0, 1}},
		{"class concurrent", `SELECT COUNT(*) FROM sessions WHERE class = ? AND state IN ` + h +
			` AND start_at < ? AND end_at > ?`, "sessions_state_class", []any{"c", 1, 0}},
		{"due", `SELECT ` + sessionCols + ` FROM sessions WHERE state IN (?, ?) AND start_at <= ?
			ORDER BY created, id`, "sessions_state_class", []any{"scheduled", "queued", 1}},
		{"per state", `SELECT state, COUNT(*) FROM sessions GROUP BY state`, "sessions_state_class", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, err := s.db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+c.query, c.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			all := strings.Join(plan, "; ")
			if !strings.Contains(all, "INDEX "+c.index) || strings.Contains(all, "SCAN sessions;") ||
				strings.HasSuffix(all, "SCAN sessions") {
				t.Errorf("plan %q; want a seek of %s", all, c.index)
			}
		})
	}
}
