package gss

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"syscall"
)

// Owner is the account a restore gives the files to.
type Owner struct{ UID, GID int }

// Restore writes the latest version of user's space into home (an existing
// directory, normally empty), every file owned by owner. It works through
// an os.Root on home, so nothing the home holds (a symlink planted by a
// user) can make it write outside. It returns ErrNotFound when the user has
// nothing saved.
func (s *Service) Restore(ctx context.Context, user, home string, owner Owner) (*Manifest, error) {
	m, err := s.Latest(ctx, user)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(home)
	if err != nil {
		return nil, fmt.Errorf("restore %s: %w", user, err)
	}
	defer root.Close()
	for i := range m.Entries {
		if err := s.restoreEntry(ctx, root, &m.Entries[i], owner); err != nil {
			return nil, fmt.Errorf("restore %s v%d: %s: %w", user, m.Version, m.Entries[i].Path, err)
		}
	}
	if err := fixDirTimes(root, m.Entries); err != nil {
		return nil, err
	}
	s.log.Info("restored", "user", user, "version", m.Version, "entries", len(m.Entries), "bytes", m.Size)
	return m, nil
}

// restoreEntry creates one entry (directories before their contents: the
// entries are sorted).
func (s *Service) restoreEntry(ctx context.Context, root *os.Root, e *Entry, o Owner) error {
	switch e.Type {
	case TypeDir:
		return mkdirOwned(root, e.Path, e.Mode, o)
	case TypeSymlink:
		if err := removeNonDir(root, e.Path); err != nil {
			return err
		}
		if err := root.Symlink(e.Target, e.Path); err != nil {
			return err
		}
		return root.Lchown(e.Path, o.UID, o.GID)
	case TypeFile:
		return s.writeFile(ctx, root, e, o, nil)
	}
	return fmt.Errorf("unknown entry type %q", e.Type)
}

// mkdirOwned makes (or keeps) a directory, refusing anything else there.
func mkdirOwned(root *os.Root, p string, mode uint32, o Owner) error {
	fi, err := root.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := root.Mkdir(p, 0o700); err != nil {
			return err
		}
	case err != nil:
		return err
	case !fi.IsDir():
		if err := root.Remove(p); err != nil {
			return reason(ErrUnsafe, fmt.Sprintf("%s is a %v where a directory goes and cannot be removed: %v", p, fi.Mode().Type(), err))
		}
		if err := root.Mkdir(p, 0o700); err != nil {
			return err
		}
	}
	if err := root.Lchown(p, o.UID, o.GID); err != nil {
		return err
	}
	return root.Chmod(p, fs.FileMode(mode))
}

// removeNonDir removes what is at p unless it is a directory.
func removeNonDir(root *os.Root, p string) error {
	fi, err := root.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return root.RemoveAll(p)
	}
	return root.Remove(p)
}

// writeFile writes e's chunks to a fresh temporary file in the target
// directory (created O_EXCL|O_NOFOLLOW, mode 000 until complete), gives it
// to o, sets mode and mtime, and renames it over p. If replace is non-nil,
// p is only replaced while it still is that placeholder (the user may have
// written their own file meanwhile: theirs wins).
func (s *Service) writeFile(ctx context.Context, root *os.Root, e *Entry, o Owner, replace *syscall.Stat_t) error {
	r := make([]byte, 6)
	_, _ = rand.Read(r)
	tmp := path.Join(path.Dir(e.Path), ".igrid-restore-"+hex.EncodeToString(r))
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			_ = root.Remove(tmp)
		}
	}()
	for _, sum := range e.Chunks {
		b, err := s.readChunk(ctx, sum)
		if err != nil {
			f.Close()
			return err
		}
		if _, err := f.Write(b); err != nil {
			f.Close()
			return err
		}
	}
	err = errors.Join(f.Chown(o.UID, o.GID), f.Chmod(fs.FileMode(e.Mode)), f.Close())
	if err != nil {
		return err
	}
	if err := root.Chtimes(tmp, e.MTime, e.MTime); err != nil {
		return err
	}
	if replace != nil && !samePlaceholder(root, e.Path, replace) {
		return nil // the user replaced the placeholder: leave theirs
	}
	if fi, err := root.Lstat(e.Path); err == nil && fi.IsDir() {
		if err := root.RemoveAll(e.Path); err != nil {
			return err
		}
	}
	if err := root.Rename(tmp, e.Path); err != nil {
		return err
	}
	ok = true
	return nil
}

func samePlaceholder(root *os.Root, p string, st *syscall.Stat_t) bool {
	fi, err := root.Lstat(p)
	if err != nil {
		return false
	}
	cur, ok := fi.Sys().(*syscall.Stat_t)
	return ok && cur.Ino == st.Ino && cur.Dev == st.Dev
}

// fixDirTimes sets directory mtimes last (writing inside changed them).
func fixDirTimes(root *os.Root, entries []Entry) error {
	for i := len(entries) - 1; i >= 0; i-- {
		if e := &entries[i]; e.Type == TypeDir {
			if err := root.Chtimes(e.Path, e.MTime, e.MTime); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}
