package gss

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// benchHome fills a home with size bytes of random data in 1 MiB files
// spread over 10 directories, and saves it as user "bench".
func benchHome(b *testing.B, svc *Service, size int) string {
	b.Helper()
	home := b.TempDir()
	buf := make([]byte, 1<<20)
	for i := range size >> 20 {
		_, _ = rand.Read(buf)
		p := filepath.Join(home, fmt.Sprintf("d%d", i%10), fmt.Sprintf("f%03d.bin", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	if _, _, err := svc.Save(context.Background(), "bench", home, SaveOptions{}); err != nil {
		b.Fatal(err)
	}
	return home
}

func emptyDir(b *testing.B, dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRestore100MB restores a 100 MB home: cold from the GSS (local
// directory backend, every chunk read, hashed and written) and warm from
// the node cache (the tree moved back, nothing stale).
func BenchmarkRestore100MB(b *testing.B) {
	ctx := context.Background()
	st, err := NewDir(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	svc := New(st, Config{Logger: quiet()})
	src := benchHome(b, svc, 100<<20)
	b.Run("cold", func(b *testing.B) {
		home := b.TempDir()
		b.SetBytes(100 << 20)
		for range b.N {
			b.StopTimer()
			emptyDir(b, home)
			b.StartTimer()
			if _, err := svc.Restore(ctx, "bench", home, me()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("warm", func(b *testing.B) {
		cache, err := NewCache(b.TempDir(), svc)
		if err != nil {
			b.Fatal(err)
		}
		home := src
		b.SetBytes(100 << 20)
		for range b.N {
			b.StopTimer()
			if _, _, err := cache.Save(ctx, "bench", home, SaveOptions{}, false); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			r, err := cache.Restore(ctx, "bench", home, me(), false)
			if err != nil {
				b.Fatal(err)
			}
			if err := r.Wait(); err != nil || r.Stale != 0 || !r.FromCache {
				b.Fatalf("warm restore %+v %v", r, err)
			}
		}
	})
}

// BenchmarkSaveUnchanged100MB is the end of a session that changed one
// file of a 100 MB home: only the new chunk travels.
func BenchmarkSaveOneChange100MB(b *testing.B) {
	ctx := context.Background()
	st, err := NewDir(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	svc := New(st, Config{Logger: quiet()})
	home := benchHome(b, svc, 100<<20)
	for i := range b.N {
		if err := os.WriteFile(filepath.Join(home, "notes.txt"), []byte(fmt.Sprint(i)), 0o644); err != nil {
			b.Fatal(err)
		}
		_, stats, err := svc.Save(ctx, "bench", home, SaveOptions{})
		if err != nil || stats.NewChunks != 1 || stats.Unread != 100 {
			b.Fatalf("save: %+v %v", stats, err)
		}
	}
}
