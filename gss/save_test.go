package gss

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func quiet() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func me() Owner { return Owner{UID: os.Getuid(), GID: os.Getgid()} }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, home, rel, body string) {
	t.Helper()
	p := filepath.Join(home, rel)
	must(t, os.MkdirAll(filepath.Dir(p), 0o755))
	must(t, os.WriteFile(p, []byte(body), 0o640))
}

func read(t *testing.T, home, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(home, rel))
	if err != nil {
		t.Fatalf("read %s: %v", rel, err)
	}
	return string(b)
}

func TestSaveRestoreRoundTrip(t *testing.T) {
	stores(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		svc := New(st, Config{ChunkSize: 1024, Node: "node-a", Logger: quiet()})
		home := t.TempDir()
		write(t, home, "notes.txt", "hello")
		write(t, home, ".igrid_history", "ls\nvim notes.txt\n")
		write(t, home, "src/big.bin", strings.Repeat("0123456789", 500))
		must(t, os.Chmod(filepath.Join(home, "src"), 0o750))
		must(t, os.Symlink("/etc/passwd", filepath.Join(home, "link")))
		must(t, syscall.Mkfifo(filepath.Join(home, "fifo"), 0o600))
		mtime := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
		must(t, os.Chtimes(filepath.Join(home, "notes.txt"), mtime, mtime))

		m, stats, err := svc.Save(ctx, "alice", home, SaveOptions{Session: "s1", Vars: map[string]string{"EDITOR_MODE": "vi"}})
		must(t, err)
		if m.Version != 1 || stats.Files != 3 || stats.NewChunks != 7 || m.Size != 5+17+5000 {
			t.Fatalf("first save: version %d, stats %+v, size %d", m.Version, stats, m.Size)
		}

		out := t.TempDir()
		got, err := svc.Restore(ctx, "alice", out, me())
		must(t, err)
		if got.Vars["EDITOR_MODE"] != "vi" {
			t.Errorf("vars = %v", got.Vars)
		}
		for _, f := range []string{"notes.txt", ".igrid_history", "src/big.bin"} {
			if read(t, out, f) != read(t, home, f) {
				t.Errorf("%s differs after restore", f)
			}
		}
		if tgt, err := os.Readlink(filepath.Join(out, "link")); err != nil || tgt != "/etc/passwd" {
			t.Errorf("symlink = %q %v", tgt, err)
		}
		if _, err := os.Lstat(filepath.Join(out, "fifo")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a FIFO was restored: %v", err)
		}
		fi, _ := os.Stat(filepath.Join(out, "src"))
		if fi.Mode().Perm() != 0o750 {
			t.Errorf("dir mode %v", fi.Mode().Perm())
		}
		fi, _ = os.Stat(filepath.Join(out, "notes.txt"))
		if fi.Mode().Perm() != 0o640 || !fi.ModTime().Equal(mtime) {
			t.Errorf("notes.txt mode %v mtime %v", fi.Mode().Perm(), fi.ModTime())
		}

		// A second save after a small edit sends only the changed chunk.
		write(t, home, "notes.txt", "hello again")
		m2, stats, err := svc.Save(ctx, "alice", home, SaveOptions{})
		must(t, err)
		if m2.Version != 2 || stats.NewChunks != 1 || stats.NewBytes != 11 || stats.Unread != 2 {
			t.Errorf("second save: version %d stats %+v, want 1 new chunk of 11 bytes", m2.Version, stats)
		}
		if vs, _ := svc.Versions(ctx, "alice"); len(vs) != 2 {
			t.Errorf("versions %v", vs)
		}
	})
}

func TestRestoreDoesNotFollowPlantedSymlinks(t *testing.T) {
	ctx := context.Background()
	svc := New(newDir(t), Config{Logger: quiet()})
	src := t.TempDir()
	write(t, src, "docs/secret", "mine")
	write(t, src, "notes", "mine too")
	_, _, err := svc.Save(ctx, "alice", src, SaveOptions{})
	must(t, err)

	outside := t.TempDir()
	write(t, outside, "victim", "root's file")
	home := t.TempDir()
	must(t, os.Symlink(outside, filepath.Join(home, "docs")))                           // a directory swapped for a link
	must(t, os.Symlink(filepath.Join(outside, "victim"), filepath.Join(home, "notes"))) // a file swapped for a link
	_, err = svc.Restore(ctx, "alice", home, me())
	must(t, err)
	if read(t, outside, "victim") != "root's file" {
		t.Error("restore wrote through a planted symlink")
	}
	if _, err := os.Stat(filepath.Join(outside, "secret")); !errors.Is(err, os.ErrNotExist) {
		t.Error("restore created a file outside the home")
	}
	if fi, err := os.Lstat(filepath.Join(home, "docs")); err != nil || !fi.IsDir() {
		t.Errorf("docs after restore: %v %v", fi, err)
	}
	if read(t, home, "docs/secret") != "mine" || read(t, home, "notes") != "mine too" {
		t.Error("restore content wrong")
	}
}

func TestManifestWithEscapingPathRefused(t *testing.T) {
	ctx := context.Background()
	d := newDir(t)
	svc := New(d, Config{Logger: quiet()})
	bad := `{"user":"alice","version":1,"entries":[{"path":"../../etc/x","type":"file","mode":420}]}`
	must(t, d.Put(ctx, manifestKey("alice", 1), strings.NewReader(bad), -1, true))
	_, err := svc.Restore(ctx, "alice", t.TempDir(), me())
	if !errors.Is(err, ErrBadName) {
		t.Errorf("restore of a manifest with ../ = %v, want ErrBadName", err)
	}
}

func TestQuota(t *testing.T) {
	ctx := context.Background()
	svc := New(newDir(t), Config{UserQuota: 100, Logger: quiet()})
	home := t.TempDir()
	write(t, home, "a", strings.Repeat("x", 60))
	if _, _, err := svc.Save(ctx, "alice", home, SaveOptions{Quota: 50}); !errors.Is(err, ErrQuota) || !strings.Contains(err.Error(), "session's disk quota of 50") {
		t.Errorf("save over the SLA quota = %v, want ErrQuota", err)
	}
	_, _, err := svc.Save(ctx, "alice", home, SaveOptions{Quota: 1000})
	must(t, err)
	write(t, home, "b", strings.Repeat("y", 60))
	if _, _, err := svc.Save(ctx, "alice", home, SaveOptions{}); !errors.Is(err, ErrQuota) || !strings.Contains(err.Error(), "per-user quota of 100") {
		t.Errorf("save over the GSS quota = %v, want ErrQuota", err)
	}
	if _, err := svc.PutFile(ctx, "alice", "up/c", strings.NewReader(strings.Repeat("z", 60))); !errors.Is(err, ErrQuota) {
		t.Errorf("upload over the GSS quota = %v, want ErrQuota", err)
	}
	if v, _ := svc.LatestVersion(ctx, "alice"); v != 1 {
		t.Errorf("refused saves wrote versions: latest %d", v)
	}
	if u, _ := svc.Usage(ctx, "alice"); u != 60 {
		t.Errorf("usage %d, want 60", u)
	}
	used, files, err := HomeUsage(home)
	if err != nil || files != 2 || used < 120 {
		t.Errorf("HomeUsage = %d bytes, %d files, %v", used, files, err)
	}
	ok, why := ProjectQuota(home)
	t.Logf("project quota on %s: %v (%s)", home, ok, why)
	if why == "" {
		t.Error("ProjectQuota gave no reason")
	}
}

func TestFileAPI(t *testing.T) {
	stores(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		svc := New(st, Config{ChunkSize: 4, Logger: quiet()})
		_, err := svc.PutFile(ctx, "bob", "in/data.csv", strings.NewReader("a,b\n1,2\n"))
		must(t, err)
		m, err := svc.PutFile(ctx, "bob", "top.txt", bytes.NewReader([]byte("top")))
		must(t, err)
		if m.Version != 2 || len(m.Entries) != 3 {
			t.Errorf("manifest %+v", m)
		}
		rc, e, err := svc.GetFile(ctx, "bob", "in/data.csv")
		must(t, err)
		b, _ := io.ReadAll(rc)
		if string(b) != "a,b\n1,2\n" || e.Size != 8 {
			t.Errorf("download = %q (%d)", b, e.Size)
		}
		if _, _, err := svc.GetFile(ctx, "bob", "in"); !errors.Is(err, ErrNotFound) {
			t.Errorf("download of a directory = %v", err)
		}
		for _, p := range []string{"../x", "/abs", "a/../b", ""} {
			if _, err := svc.PutFile(ctx, "bob", p, strings.NewReader("x")); !errors.Is(err, ErrBadName) {
				t.Errorf("PutFile(%q) = %v, want ErrBadName", p, err)
			}
		}
		if _, err := svc.PutFile(ctx, "a/b", "x", strings.NewReader("x")); !errors.Is(err, ErrBadName) {
			t.Errorf("PutFile for user a/b = %v", err)
		}
		home := t.TempDir()
		_, err = svc.Restore(ctx, "bob", home, me())
		must(t, err)
		if read(t, home, "in/data.csv") != "a,b\n1,2\n" {
			t.Error("an uploaded file is not restored")
		}
	})
}

func TestConcurrentSavesGetDistinctVersions(t *testing.T) {
	ctx := context.Background()
	st := newDir(t)
	errs := make(chan error, 4)
	for i := range 4 {
		go func() {
			home := t.TempDir()
			write(t, home, "f", strings.Repeat("x", i+1))
			_, _, err := New(st, Config{Logger: quiet()}).Save(ctx, "alice", home, SaveOptions{})
			errs <- err
		}()
	}
	for range 4 {
		must(t, <-errs)
	}
	vs, err := New(st, Config{}).Versions(ctx, "alice")
	if err != nil || len(vs) != 4 || vs[3] != 4 {
		t.Errorf("versions after 4 concurrent saves: %v %v", vs, err)
	}
}
