package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func newTestSQLite(t *testing.T) Store {
	t.Helper()
	s, err := OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "drm.db"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSQLite(t *testing.T) { RunSuite(t, newTestSQLite) }

func TestMigrationsIdempotent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "drm.db")
	for range 2 {
		s, err := OpenSQLite(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		v, err := s.SchemaVersion(ctx)
		if err != nil || v != len(migrations) {
			t.Fatalf("schema version %d, %v; want %d", v, err, len(migrations))
		}
		s.Close()
	}
}

func TestDSN(t *testing.T) {
	got := DSN("/tmp/x.db")
	for _, want := range []string{"_txlock=immediate", "busy_timeout%2810000%29", "journal_mode%28WAL%29"} {
		if !strings.Contains(got, want) {
			t.Errorf("DSN %q lacks %q", got, want)
		}
	}
}

func TestWAL(t *testing.T) {
	s := newTestSQLite(t).(*SQLite)
	defer s.Close()
	var mode string
	if err := s.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
}
