package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/igrid/igrid/internal/testutil"
)

// TestCheckpointer: SQLite's own checkpoint is off, so the rows reach the
// database file only through the background checkpointer — the file grows
// while nobody writes; without it the rows would stay in the WAL.
func TestCheckpointer(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "drm.db")
	s, err := OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var auto int
	if err := s.db.QueryRow("PRAGMA wal_autocheckpoint").Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("wal_autocheckpoint = %d, %v; want 0", auto, err)
	}
	s.stopCkpt() // hold it while writing, to see the rows stay in the WAL
	s.stopCkpt = nil
	before := fileSize(t, path)
	for i := range 400 {
		if err := s.InsertSession(ctx, suiteSession(fmt.Sprintf("c%03d", i), "bob", suiteT0.Add(time.Duration(i)*time.Hour), time.Hour, 1, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if got := fileSize(t, path); got != before {
		t.Fatalf("database file went %d → %d bytes with no checkpointer", before, got)
	}
	s.stopCkpt = s.checkpointer()
	testutil.CheckFor(t, 10*time.Second, func() error {
		if got := fileSize(t, path); got <= before {
			return fmt.Errorf("database file still %d bytes", got)
		}
		return nil
	})
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
