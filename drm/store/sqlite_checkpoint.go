package store

import (
	"context"
	"time"
)

// checkpointEvery is how often the background checkpointer copies the WAL
// back into the database file.
const checkpointEvery = 200 * time.Millisecond

// SQLite's automatic checkpoint runs inside the commit that crosses 1,000
// WAL frames: that booking (one in ~150) then copies the pages back and
// fsyncs the database file, a stall of several milliseconds on the
// decision path — most of the p99. igrid turns it off
// (wal_autocheckpoint(0) in DSN) and runs PASSIVE checkpoints from one
// goroutine instead: they never block a writer or a reader, and a commit
// is exactly as durable as before (the WAL frames are written before it
// returns; synchronous=NORMAL syncs the WAL at checkpoints, as before).
// When the process dies, the WAL stays and the next open or checkpoint
// copies it back: nothing is lost, the file is only larger meanwhile.
func (s *SQLite) checkpointer() (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, _ = s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`) // a failed pass is retried next tick
				cancel()
			}
		}
	}()
	return func() { close(quit); <-done }
}
