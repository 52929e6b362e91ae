package gss

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
)

// Cache is the node-local copy of the last tree of each user who had a
// session here. At session end the saved home is moved into the cache
// instead of being deleted (or left in place when the account is reserved);
// at the next start here it is moved back, and only what changed in GSS
// meanwhile (a session on another node) is fetched — in the background,
// each stale file kept unreadable (an empty placeholder owned by root,
// mode 000) until its fresh content replaces it.
type Cache struct {
	dir string
	svc *Service
	log *slog.Logger
	mu  sync.Mutex // one Save/Restore per user at a time is the node's job; this guards the directory layout
}

// cacheMeta is DIR/<user>/meta.json: which version the cached tree is.
type cacheMeta struct {
	User    string `json:"user"`
	Version int64  `json:"version"`
	// Home is set when the tree stayed in place (a reserved account's
	// home); otherwise the tree is DIR/<user>/tree.
	Home string `json:"home,omitempty"`
}

// NewCache opens (creates) a node cache in dir, mode 0700, over svc.
func NewCache(dir string, svc *Service) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("gss cache: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("gss cache: %w", err)
	}
	return &Cache{dir: dir, svc: svc, log: svc.log.With("cache", dir)}, nil
}

// Service is the GSS the cache is in front of.
func (c *Cache) Service() *Service { return c.svc }

func (c *Cache) userDir(user string) string { return filepath.Join(c.dir, "u-"+url.PathEscape(user)) }

func (c *Cache) readMeta(user string) (*cacheMeta, *Manifest) {
	b, err := os.ReadFile(filepath.Join(c.userDir(user), "meta.json"))
	if err != nil {
		return nil, nil
	}
	var meta cacheMeta
	var m Manifest
	mb, err2 := os.ReadFile(filepath.Join(c.userDir(user), "manifest.json"))
	if json.Unmarshal(b, &meta) != nil || err2 != nil || json.Unmarshal(mb, &m) != nil || meta.User != user || m.Version != meta.Version || m.check() != nil {
		return nil, nil
	}
	return &meta, &m
}

// Drop forgets user's cached tree.
func (c *Cache) Drop(user string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return os.RemoveAll(c.userDir(user))
}

// Save saves home to GSS (see Service.Save) and then keeps the tree: with
// keep (the account is reserved for the user) it stays in home, else it is
// moved into the cache, leaving home empty. A failed save keeps the
// previous cache entry (still equal to the latest version in GSS).
func (c *Cache) Save(ctx context.Context, user, home string, opt SaveOptions, keep bool) (*Manifest, SaveStats, error) {
	m, st, err := c.svc.Save(ctx, user, home, opt)
	if err != nil {
		return nil, st, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ud := c.userDir(user)
	if err := os.RemoveAll(ud); err != nil {
		return m, st, fmt.Errorf("cache %s: %w", user, err)
	}
	if err := os.MkdirAll(filepath.Join(ud, "tree"), 0o700); err != nil {
		return m, st, fmt.Errorf("cache %s: %w", user, err)
	}
	meta := cacheMeta{User: user, Version: m.Version}
	if keep {
		meta.Home = home
	} else if err := moveEntries(home, filepath.Join(ud, "tree")); err != nil {
		_ = os.RemoveAll(ud) // a half-moved tree is no cache; the rest stays in home for Release to clean
		return m, st, fmt.Errorf("cache %s: %w", user, err)
	}
	return m, st, c.writeMeta(ud, &meta, m)
}

func (c *Cache) writeMeta(ud string, meta *cacheMeta, m *Manifest) error {
	mb, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(ud, "manifest.json"), mb, 0o600); err != nil {
		return err
	}
	b, _ := json.Marshal(meta)
	return os.WriteFile(filepath.Join(ud, "meta.json"), b, 0o600)
}

// moveEntries renames every top-level entry of from into to (one file
// system: a rename per entry, whatever the size).
func moveEntries(from, to string) error {
	ents, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := os.Rename(filepath.Join(from, e.Name()), filepath.Join(to, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// CachedUser is one user whose tree this node holds.
type CachedUser struct {
	User    string `json:"user"`
	Version int64  `json:"version"`
	Fresh   bool   `json:"fresh"` // the cached version is the latest in GSS
}

// Users lists the cached users; with ctx non-nil each is checked against
// GSS for freshness (the DRM's affinity pass wants the fresh ones).
func (c *Cache) Users(ctx context.Context) ([]CachedUser, error) {
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return nil, err
	}
	var out []CachedUser
	for _, e := range ents {
		name, ok := strings.CutPrefix(e.Name(), "u-")
		if !ok {
			continue
		}
		user, err := url.PathUnescape(name)
		if err != nil {
			continue
		}
		meta, _ := c.readMeta(user)
		if meta == nil {
			continue
		}
		cu := CachedUser{User: user, Version: meta.Version}
		if ctx != nil {
			v, err := c.svc.LatestVersion(ctx, user)
			if err != nil {
				return nil, err
			}
			cu.Fresh = v == meta.Version
		}
		out = append(out, cu)
	}
	slices.SortFunc(out, func(a, b CachedUser) int { return strings.Compare(a.User, b.User) })
	return out, nil
}

// Restored reports one cache restore; stale files arrive in the background.
type Restored struct {
	Manifest  *Manifest // the version restored (nil: nothing saved yet)
	FromCache bool      // the cached tree was used
	Fresh     int       // entries already right from the cache
	Stale     int       // files being refreshed in the background
	Removed   int       // cached entries deleted in GSS meanwhile
	done      chan struct{}
	err       error
}

// Wait blocks until every stale file is fresh and returns the first error.
func (r *Restored) Wait() error {
	<-r.done
	return r.err
}

// Restore fills home (existing, empty unless warm) with user's latest
// version, owned by owner. warm says the home is the account's kept home
// (a reserved account): the cached tree is then in place already. Without
// a usable cache entry the restore is cold and complete on return.
func (c *Cache) Restore(ctx context.Context, user, home string, owner Owner, warm bool) (*Restored, error) {
	res := &Restored{done: make(chan struct{})}
	latest, err := c.svc.Latest(ctx, user)
	if errors.Is(err, ErrNotFound) {
		close(res.done)
		return res, c.Drop(user)
	}
	if err != nil {
		return nil, err
	}
	base, err := c.takeTree(user, home, owner, warm)
	if err != nil {
		return nil, err
	}
	if base == nil {
		res.Manifest, err = c.svc.Restore(ctx, user, home, owner)
		close(res.done)
		return res, err
	}
	res.Manifest, res.FromCache = latest, true
	stale, err := c.reconcile(home, base, latest, owner, res)
	if err != nil {
		return nil, err
	}
	go c.refresh(context.WithoutCancel(ctx), home, latest, stale, owner, res)
	return res, nil
}

// takeTree puts the cached tree of user into home and gives it to owner;
// it returns the manifest the tree is, or nil when there is no usable
// cache. The cache entry is consumed: the tree now is the live home.
func (c *Cache) takeTree(user, home string, owner Owner, warm bool) (*Manifest, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	meta, m := c.readMeta(user)
	ud := c.userDir(user)
	switch {
	case meta == nil:
		return nil, os.RemoveAll(ud)
	case meta.Home != "":
		if !warm || meta.Home != home {
			return nil, os.RemoveAll(ud) // the kept home went to someone else
		}
	default:
		if err := moveEntries(filepath.Join(ud, "tree"), home); err != nil {
			return nil, fmt.Errorf("cache %s: %w", user, err)
		}
	}
	if err := os.RemoveAll(ud); err != nil {
		return nil, err
	}
	return m, chownTree(home, owner)
}

// chownTree gives every entry under home to owner, never following a link.
func chownTree(home string, o Owner) error {
	return filepath.WalkDir(home, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == home {
			return nil
		}
		return os.Lchown(p, o.UID, o.GID)
	})
}

// reconcile brings the tree base (now in home) to the shape of latest at
// once: deleted entries go, directories and symlinks are made, and every
// file whose content differs becomes an unreadable placeholder. It returns
// the files to fetch.
func (c *Cache) reconcile(home string, base, latest *Manifest, o Owner, res *Restored) ([]stalePath, error) {
	root, err := os.OpenRoot(home)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	want := latest.index()
	for i := len(base.Entries) - 1; i >= 0; i-- { // children before parents
		e := &base.Entries[i]
		if w, ok := want[e.Path]; !ok || w.Type != e.Type {
			if err := root.RemoveAll(e.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
			res.Removed++
		}
	}
	have := base.index()
	var stale []stalePath
	for i := range latest.Entries {
		e := &latest.Entries[i]
		if h, ok := have[e.Path]; ok && h.same(e) {
			res.Fresh++
			continue
		}
		switch e.Type {
		case TypeDir:
			err = mkdirOwned(root, e.Path, e.Mode, o)
		case TypeSymlink:
			err = c.svc.restoreEntry(context.Background(), root, e, o)
		case TypeFile:
			var st *syscall.Stat_t
			if st, err = placeholder(root, e.Path); err == nil {
				stale = append(stale, stalePath{idx: i, placeholder: st})
			}
		}
		if err != nil {
			return nil, fmt.Errorf("refresh %s: %w", e.Path, err)
		}
	}
	res.Stale = len(stale)
	return stale, nil
}

type stalePath struct {
	idx         int
	placeholder *syscall.Stat_t
}

// placeholder replaces p by an empty file owned by root with mode 000: the
// account can see the name but not read it, nor chmod it.
func placeholder(root *os.Root, p string) (*syscall.Stat_t, error) {
	if err := removeNonDir(root, p); err != nil {
		return nil, err
	}
	f, err := root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := f.Chmod(0); err != nil {
		return nil, err
	}
	var st syscall.Stat_t
	return &st, syscall.Fstat(int(f.Fd()), &st)
}

// refresh fetches the stale files and renames each over its placeholder.
func (c *Cache) refresh(ctx context.Context, home string, latest *Manifest, stale []stalePath, o Owner, res *Restored) {
	defer close(res.done)
	if len(stale) == 0 {
		return
	}
	root, err := os.OpenRoot(home)
	if err != nil {
		res.err = err
		return
	}
	defer root.Close()
	for _, s := range stale {
		e := &latest.Entries[s.idx]
		if err := c.svc.writeFile(ctx, root, e, o, s.placeholder); err != nil && res.err == nil {
			res.err = fmt.Errorf("refresh %s of %s: %w", e.Path, latest.User, err)
		}
	}
	c.log.Info("stale files refreshed", "user", latest.User, "version", latest.Version, "files", len(stale), "err", res.err)
}

// OpenLocal is the usual dev and single-site setup in one call: a
// local-directory GSS at storeDir (shared by every node that should see the
// same users' files) and this node's cache at cacheDir.
func OpenLocal(storeDir, cacheDir, node string, log *slog.Logger) (*Cache, error) {
	st, err := NewDir(storeDir)
	if err != nil {
		return nil, err
	}
	return NewCache(cacheDir, New(st, Config{Node: node, Logger: log}))
}
