package accounts

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// KillTimeout bounds how long Release keeps killing an account's processes
// before it gives up and quarantines the account.
var KillTimeout = 5 * time.Second

// tmpDirs are the shared scratch directories searched for files owned by
// an account when it is cleaned.
var tmpDirs = []string{"/tmp", "/var/tmp", "/dev/shm"}

// clean brings an account back to its pristine state: no process (its
// cgroups first, then a /proc sweep by uid), no SysV IPC object, POSIX
// message queue, cron or at job, no file in the shared scratch
// directories, and (unless keepHome) an empty home owned by it with mode
// 0700. It tries every step and reports every failure.
func (m *Manager) clean(a Account, opt ReleaseOptions, keepHome bool) error {
	_, err := m.cleanCount(a, opt, keepHome)
	return err
}

// cleanCount is clean, also counting the files it found to remove in the
// scratch, spool and queue directories (none found: nothing to re-check).
func (m *Manager) cleanCount(a Account, opt ReleaseOptions, keepHome bool) (int, error) {
	var errs []error
	for _, cg := range opt.Cgroups {
		errs = append(errs, killCgroup(cg, KillTimeout))
	}
	found := 0
	if m.priv {
		errs = append(errs, m.killStrays(a.UID, KillTimeout), removeIPC(a.UID), m.removeMqueues(a.UID, &found),
			removeSpool(a, &found), m.removeTmp(a.UID, a.GID, &found))
	}
	if !keepHome {
		errs = append(errs, m.emptyHome(a))
	}
	return found, errors.Join(errs...)
}

// verifyClean looks again, after clean, for anything of the account.
// Processes need no second look: killStrays returns nil only after a sweep
// (or the proc connector's exact count) found none; nor do the scratch directories when clean found nothing
// there (no process of the account is left to write one).
func (m *Manager) verifyClean(a Account, keepHome bool, found int) error {
	var left []string
	if m.priv {
		if ids := ipcOf(a.UID); len(ids) > 0 {
			left = append(left, fmt.Sprintf("IPC objects %v", ids))
		}
		if found > 0 {
			if files := m.scratchFiles(a); len(files) > 0 {
				left = append(left, fmt.Sprintf("files %v", files))
			}
		}
	}
	if !keepHome {
		if ents, err := os.ReadDir(a.Home); err != nil || len(ents) > 0 {
			left = append(left, fmt.Sprintf("%d entries in the home (%v)", len(ents), err))
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("account %s still has %s", a.Name, strings.Join(left, "; "))
	}
	return nil
}

// scratchFiles lists what the account still owns in the scratch, spool and
// message-queue directories.
func (m *Manager) scratchFiles(a Account) []string {
	out, ok := m.indexedScratch(a.UID, a.GID)
	if !ok {
		_ = walkOwned(tmpDirs, m.skipDirs(), a.UID, a.GID, true, func(p string, _ bool) error {
			out = append(out, p)
			return nil
		})
	}
	_ = walkOwned(spoolDirs, nil, a.UID, a.GID, false, func(p string, _ bool) error {
		out = append(out, p)
		return nil
	})
	if dir := m.mqueueDir(); dir != "" {
		_ = walkOwned([]string{dir}, nil, a.UID, a.GID, false, func(p string, _ bool) error {
			out = append(out, p)
			return nil
		})
	}
	return out
}

// PrepareHome makes sure the account's home exists, is empty (kept as is
// when a.Warm: the user's own files from their previous session), is owned
// by the account and has mode 0700. The node agent calls it after Bind.
func (m *Manager) PrepareHome(a *Account) error {
	if a.Warm {
		if fi, err := os.Lstat(a.Home); err == nil && fi.IsDir() && fileOwner(fi) == a.UID {
			return os.Chmod(a.Home, 0o700)
		}
	}
	return m.emptyHome(*a)
}

func fileOwner(fi fs.FileInfo) uint32 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Uid
	}
	return ^uint32(0)
}

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

// removeTmp removes every file and directory owned by uid under the
// scratch directories: those the scratch index lists, or (no index) those
// a walk finds.
func (m *Manager) removeTmp(uid, gid uint32, found *int) error {
	paths, ok := m.indexedScratch(uid, gid)
	if !ok {
		return walkOwned(tmpDirs, m.skipDirs(), uid, gid, true, func(p string, _ bool) error { *found++; return os.RemoveAll(p) })
	}
	var errs []error
	for _, p := range paths {
		*found++
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// indexedScratch asks the scratch index what uid owns in the scratch
// directories; ok is false without a trustworthy index.
func (m *Manager) indexedScratch(uid, gid uint32) ([]string, bool) {
	if m.scratch == nil {
		return nil, false
	}
	return m.scratch.owned(uid, gid, m.skipDirs())
}

// walkOwned calls f for every entry owned by uid under roots, without
// following symlinks or crossing into other file systems, and does not look
// inside what it reports, nor inside skip. With prune it descends only into
// directories uid can search (a file of uid can only be in a directory it
// could reach and write); spool directories, where setgid tools write for
// the user, are walked whole.
func walkOwned(roots, skip []string, uid, gid uint32, prune bool, f func(path string, dir bool) error) error {
	var errs []error
	for _, root := range roots {
		var rootSt syscall.Stat_t
		if err := syscall.Lstat(root, &rootSt); err != nil {
			continue
		}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || p == root {
				return nil // vanished meanwhile, or unreadable: skip
			}
			if slices.Contains(skip, p) {
				return filepath.SkipDir // the homes and the lease map have their own rules
			}
			var st syscall.Stat_t
			if syscall.Lstat(p, &st) != nil {
				return nil
			}
			isDir := st.Mode&syscall.S_IFMT == syscall.S_IFDIR
			if st.Uid == uid {
				if err := f(p, isDir); err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", p, err))
				}
				if isDir {
					return filepath.SkipDir
				}
				return nil
			}
			if isDir && (st.Dev != rootSt.Dev || prune && !searchable(&st, gid)) {
				return filepath.SkipDir
			}
			return nil
		})
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// searchable reports whether a process of an account (its own uid, not the
// directory's owner, and group gid) may search directory st.
func searchable(st *syscall.Stat_t, gid uint32) bool {
	if st.Gid == gid {
		return st.Mode&0o010 != 0
	}
	return st.Mode&0o001 != 0
}

func (m *Manager) skipDirs() []string { return []string{m.cfg.HomeRoot, m.cfg.StateDir} }
