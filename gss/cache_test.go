package gss

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// gatedStore holds chunk downloads until the gate is opened, so a test
// can look at a restore while stale files are still being refreshed. It
// wraps a real backend; only the timing is the test's.
type gatedStore struct {
	Store
	gate chan struct{}
}

func (g *gatedStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if strings.HasPrefix(key, "chunks/") {
		<-g.gate
	}
	return g.Store.Get(ctx, key)
}

// node is one execution node's view: its own cache, the shared GSS.
type node struct {
	cache *Cache
	home  string
}

func newNode(t *testing.T, st Store, name string) *node {
	t.Helper()
	c, err := NewCache(t.TempDir(), New(st, Config{Node: name, ChunkSize: 64, Logger: quiet()}))
	must(t, err)
	return &node{cache: c, home: t.TempDir()}
}

// owner is the account restores give files to: nobody when the test runs
// as root (so a root-owned placeholder is really out of its reach).
func owner() Owner {
	if os.Getuid() == 0 {
		return Owner{UID: 65534, GID: 65534}
	}
	return me()
}

// session restores alice's files on n, runs edit, and saves into the cache.
func (n *node) session(t *testing.T, edit func(home string)) *Restored {
	t.Helper()
	ctx := context.Background()
	r, err := n.cache.Restore(ctx, "alice", n.home, owner(), false)
	must(t, err)
	must(t, r.Wait())
	edit(n.home)
	_, _, err = n.cache.Save(ctx, "alice", n.home, SaveOptions{}, false)
	must(t, err)
	if ents, _ := os.ReadDir(n.home); len(ents) != 0 {
		t.Fatalf("home not empty after a cached save: %d entries", len(ents))
	}
	return r
}

func TestStaleCacheAcrossNodes(t *testing.T) {
	shared := newDir(t)
	gated := &gatedStore{Store: shared, gate: make(chan struct{})}
	close(gated.gate)
	a, b := newNode(t, gated, "node-a"), newNode(t, shared, "node-b")

	// Session 1 on A: alice writes two files.
	a.session(t, func(h string) {
		write(t, h, "paper.tex", "draft from A")
		write(t, h, "data/keep.csv", strings.Repeat("1,2\n", 100))
	})
	if u, _ := a.cache.Users(context.Background()); len(u) != 1 || !u[0].Fresh || u[0].Version != 1 {
		t.Fatalf("A's cached users = %+v, want alice fresh at v1", u)
	}
	// Session 2 on B: she edits the paper and deletes nothing else.
	rb := b.session(t, func(h string) {
		if read(t, h, "paper.tex") != "draft from A" {
			t.Fatalf("B did not get A's version")
		}
		write(t, h, "paper.tex", "revised on B")
		write(t, h, "new-on-b", "b")
	})
	if rb.FromCache {
		t.Error("B had no cache and says it restored from one")
	}
	if u, _ := a.cache.Users(context.Background()); len(u) != 1 || u[0].Fresh {
		t.Fatalf("A's cached users after B's session = %+v, want alice stale", u)
	}

	// Back on A, with downloads held: the fresh file is there at once, the
	// stale one is an unreadable placeholder, the new one too.
	gated.gate = make(chan struct{})
	r, err := a.cache.Restore(context.Background(), "alice", a.home, owner(), false)
	must(t, err)
	if !r.FromCache || r.Stale != 2 || r.Fresh < 2 {
		t.Errorf("restore on A: %+v, want from cache, 2 stale (paper.tex, new-on-b)", r)
	}
	if read(t, a.home, "data/keep.csv") != strings.Repeat("1,2\n", 100) {
		t.Error("fresh cached file not available at once")
	}
	for _, f := range []string{"paper.tex", "new-on-b"} {
		fi, err := os.Lstat(filepath.Join(a.home, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm() != 0 || st.Uid != uint32(os.Getuid()) || fi.Size() != 0 {
			t.Errorf("%s while stale: mode %v uid %d size %d, want an empty root-owned mode-000 placeholder", f, fi.Mode().Perm(), st.Uid, fi.Size())
		}
	}
	close(gated.gate)
	must(t, r.Wait())
	if got := read(t, a.home, "paper.tex"); got != "revised on B" {
		t.Errorf("after refresh on A: %q, want B's version", got)
	}
	fi, _ := os.Stat(filepath.Join(a.home, "paper.tex"))
	if fi.Mode().Perm() != 0o640 || fi.Sys().(*syscall.Stat_t).Uid != uint32(owner().UID) {
		t.Errorf("refreshed file mode %v owner %d", fi.Mode().Perm(), fi.Sys().(*syscall.Stat_t).Uid)
	}
	if read(t, a.home, "new-on-b") != "b" {
		t.Error("file new on B missing on A")
	}
}

func TestCacheDeletedAndWarm(t *testing.T) {
	ctx := context.Background()
	shared := newDir(t)
	a, b := newNode(t, shared, "node-a"), newNode(t, shared, "node-b")
	a.session(t, func(h string) { write(t, h, "old", "x"); write(t, h, "stay", "y") })
	b.session(t, func(h string) { must(t, os.Remove(filepath.Join(h, "old"))) })

	// A reserved account keeps its home in place: a warm restore.
	r, err := a.cache.Restore(ctx, "alice", a.home, me(), false)
	must(t, err)
	must(t, r.Wait())
	if r.Removed != 1 {
		t.Errorf("removed %d, want the file deleted on B", r.Removed)
	}
	if _, err := os.Lstat(filepath.Join(a.home, "old")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file deleted on B still on A: %v", err)
	}
	write(t, a.home, "more", "z")
	_, _, err = a.cache.Save(ctx, "alice", a.home, SaveOptions{}, true)
	must(t, err)
	if read(t, a.home, "stay") != "y" {
		t.Fatal("a kept save emptied the home")
	}
	r, err = a.cache.Restore(ctx, "alice", a.home, me(), true)
	must(t, err)
	must(t, r.Wait())
	if !r.FromCache || r.Stale != 0 || read(t, a.home, "more") != "z" {
		t.Errorf("warm restore %+v", r)
	}
	// A cold restore elsewhere of a kept home that is not warm here.
	other := t.TempDir()
	_, _, err = a.cache.Save(ctx, "alice", a.home, SaveOptions{}, true)
	must(t, err)
	r, err = a.cache.Restore(ctx, "alice", other, me(), false)
	must(t, err)
	if r.FromCache || read(t, other, "more") != "z" {
		t.Errorf("restore into another home used the kept one: %+v", r)
	}
}
