package sac

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

type oneSession struct{}

func (oneSession) Session(string) (Limits, Current, error) { return Limits{}, Current{}, nil }

// TestClientKeepsOneConnection: every request of a Client goes over the
// same connection.
func TestClientKeepsOneConnection(t *testing.T) {
	ctl, _ := New(Config{State: oneSession{}})
	srv, err := NewServer(ServerConfig{Path: filepath.Join(t.TempDir(), "s.sock"), Controller: ctl,
		Sessions: ResolverFunc(func(uid uint32) (string, bool) { return "s-1", uid == uint32(os.Getuid()) })})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	cl := NewClient(srv.Addr())
	defer cl.Close()
	if _, err := cl.Ask("vim", nil); err != nil {
		t.Fatal(err)
	}
	first := cl.c
	for i := 0; i < 50; i++ {
		if d, err := cl.Ask("vim", nil); err != nil || !d.Allow {
			t.Fatalf("ask %d: %+v, %v", i, d, err)
		}
	}
	if cl.c != first {
		t.Fatal("the client dialled again on a healthy connection")
	}
	srv.mu.Lock()
	n := len(srv.conns)
	srv.mu.Unlock()
	if n != 1 {
		t.Fatalf("server has %d open connections, want 1", n)
	}
}
