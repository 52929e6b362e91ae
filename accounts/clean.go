package accounts

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// KillTimeout bounds how long Release keeps killing an account's processes
// before it gives up and quarantines the account.
var KillTimeout = 5 * time.Second

// tmpDirs are the shared scratch directories whose top-level entries owned
// by an account are removed when the account is cleaned.
var tmpDirs = []string{"/tmp", "/var/tmp", "/dev/shm"}

// clean brings an account back to its pristine state: no process, no file
// in the shared scratch directories, an empty home owned by it with mode
// 0700. It tries every step and reports every failure.
func (m *Manager) clean(a Account) error {
	var errs []error
	if m.priv {
		errs = append(errs, killUID(a.UID, KillTimeout), removeTmp(a.UID))
	}
	errs = append(errs, m.emptyHome(a))
	return errors.Join(errs...)
}

// PrepareHome makes sure the account's home exists, is empty, is owned by
// the account and has mode 0700. The node agent calls it after Bind.
func (m *Manager) PrepareHome(a *Account) error { return m.emptyHome(*a) }

// emptyHome removes everything in the home but keeps (or recreates) the
// directory itself. Removal never follows symlinks.
func (m *Manager) emptyHome(a Account) error {
	if filepath.Dir(a.Home) != m.cfg.HomeRoot || filepath.Base(a.Home) != a.Name {
		return fmt.Errorf("home %s of account %s is not %s/%s: refusing to touch it", a.Home, a.Name, m.cfg.HomeRoot, a.Name)
	}
	fi, err := os.Lstat(a.Home)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("home %s: %w", a.Home, err)
	case !fi.IsDir():
		if err := os.Remove(a.Home); err != nil {
			return fmt.Errorf("home %s is not a directory: %w", a.Home, err)
		}
	}
	if err := os.Mkdir(a.Home, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create home: %w", err)
	}
	ents, err := os.ReadDir(a.Home)
	if err != nil {
		return fmt.Errorf("read home: %w", err)
	}
	var errs []error
	for _, e := range ents {
		errs = append(errs, os.RemoveAll(filepath.Join(a.Home, e.Name())))
	}
	if m.priv {
		errs = append(errs, os.Lchown(a.Home, int(a.UID), int(a.GID)))
	}
	errs = append(errs, os.Chmod(a.Home, 0o700))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("empty home %s: %w", a.Home, err)
	}
	return nil
}

// removeTmp removes the top-level entries of the scratch directories that
// belong to uid.
func removeTmp(uid uint32) error {
	var errs []error
	for _, dir := range tmpDirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		for _, e := range ents {
			p := filepath.Join(dir, e.Name())
			fi, err := os.Lstat(p)
			if err != nil {
				continue // gone meanwhile
			}
			if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid == uid {
				if err := os.RemoveAll(p); err != nil {
					errs = append(errs, fmt.Errorf("remove %s: %w", p, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}
