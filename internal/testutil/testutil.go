package testutil

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/igrid/igrid/drm/client"
	"github.com/igrid/igrid/internal/proto"
)

// CheckFor polls f every 20 ms until it returns nil, and fails t with f's
// last error after timeout.
func CheckFor(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	Poll(t, timeout, 20*time.Millisecond, f)
}

// Poll is CheckFor with its own polling period.
func Poll(t testing.TB, timeout, every time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		time.Sleep(every)
	}
}

// Buffer collects output written from other goroutines (an SSH session's
// stdout and stderr) and reads it back safely.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// WaitState polls the session through the API until it is in state want
// (20 s at most) and returns it.
func WaitState(t testing.TB, c *client.Client, id string, want proto.State) *proto.Session {
	t.Helper()
	var s *proto.Session
	CheckFor(t, 20*time.Second, func() error {
		var err error
		if s, err = c.Session(context.Background(), id); err != nil {
			return err
		}
		if s.State != want {
			return fmt.Errorf("session %s is %s (%s), want %s", id, s.State, s.Reason, want)
		}
		return nil
	})
	return s
}
