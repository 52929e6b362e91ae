package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/igrid/igrid/internal/proto"
)

// TestSQLiteWriter: a failed or cancelled write transaction leaves
// nothing, and a writer connection that broke is replaced.
func TestSQLiteWriter(t *testing.T) {
	st := newTestSQLite(t).(*SQLite)
	defer st.Close()
	ctx := context.Background()
	s := suiteSession("s-1", "alice", suiteT0, time.Hour, 1, 0)
	s.State, s.Node = proto.StateScheduled, "node-a"
	boom := errors.New("boom")
	if err := st.tx(ctx, func(tx *wtx) error {
		if err := st.insertSession(ctx, tx, s); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("tx = %v, want boom", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	if err := st.tx(cctx, func(tx *wtx) error {
		cancel() // the caller gives up while the transaction runs
		return st.insertSession(ctx, tx, s)
	}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled tx = %v", err)
	}
	if _, err := st.Session(ctx, "s-1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a failed or cancelled transaction stored the session: %v", err)
	}
	st.wmu.Lock()
	st.wconn.Close() // the writer breaks under the store
	st.wmu.Unlock()
	if err := st.InsertSession(ctx, s); err != nil {
		t.Fatalf("insert after the writer broke: %v", err)
	}
	if got, err := st.Session(ctx, "s-1"); err != nil || got.Node != "node-a" {
		t.Fatalf("Session = %+v, %v", got, err)
	}
}
