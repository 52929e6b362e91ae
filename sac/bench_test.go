package sac

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkRoundTrip is one admission question over the Unix socket: on
// the Client's kept connection against a new connection per question
// (Ask), as GISH did before.
func BenchmarkRoundTrip(b *testing.B) {
	ctl, _ := New(Config{State: oneSession{}})
	srv, err := NewServer(ServerConfig{Path: filepath.Join(b.TempDir(), "s.sock"), Controller: ctl,
		Sessions: ResolverFunc(func(uid uint32) (string, bool) { return "s-1", uid == uint32(os.Getuid()) })})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	argv := []string{"sleep", "0"}
	b.Run("kept-connection", func(b *testing.B) {
		cl := NewClient(srv.Addr())
		defer cl.Close()
		for i := 0; i < b.N; i++ {
			if d, err := cl.Ask("sleep", argv); err != nil || !d.Allow {
				b.Fatalf("%+v, %v", d, err)
			}
		}
	})
	b.Run("connection-per-question", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if d, err := Ask(srv.Addr(), "sleep", argv); err != nil || !d.Allow {
				b.Fatalf("%+v, %v", d, err)
			}
		}
	})
}
