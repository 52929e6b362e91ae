package accounts

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// scratchIndex keeps, in memory, the owner of every entry of the shared
// scratch directories (/tmp, /var/tmp, /dev/shm) in each directory the
// scratch walk would descend into for some account (one with o+x or
// g+x, on the root's file system), kept current by inotify watches on
// those directories. owned answers what walkOwned would find, without
// reading the directories again.
//
// Exactness rests on the kernel queueing each inotify event before the
// creating, renaming, linking or chown'ing call returns, and on parents
// seeing their children's events (IN_ATTRIB for chown and chmod): once the
// account's processes are dead, draining the queue yields every change
// they made. A queue overflow or a watch that cannot be added makes the
// index rebuild itself, and until it has, owned says it does not know (the
// caller walks).
type scratchIndex struct {
	roots []string

	mu     sync.Mutex
	fd     int
	dirs   map[string]*idxDir // indexed directories by path
	byWD   map[int32]string
	broken bool // rebuild before trusting
	buf    [1 << 16]byte
}

type idxDir struct {
	wd      int32
	ino     uint64 // the directory's own inode (on dev)
	dev     uint64 // of the root it hangs under
	entries map[string]idxEnt
}

type idxEnt struct {
	uid, gid, mode uint32
	dev            uint64
}

func (e idxEnt) isDir() bool { return e.mode&syscall.S_IFMT == syscall.S_IFDIR }

const scratchMask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_ATTRIB |
	unix.IN_ONLYDIR | unix.IN_DONT_FOLLOW

var (
	scratchOnce sync.Once
	scratchInst *scratchIndex
	scratchErr  error
)

// sharedScratchIndex is the process's one index of tmpDirs, built at first
// use; nil with the reason when inotify is unavailable.
func sharedScratchIndex() (*scratchIndex, error) {
	scratchOnce.Do(func() {
		x := &scratchIndex{roots: tmpDirs, fd: -1}
		x.mu.Lock()
		scratchErr = x.rebuild()
		x.mu.Unlock()
		if scratchErr != nil {
			return
		}
		scratchInst = x
		go x.loop()
	})
	return scratchInst, scratchErr
}

// loop applies events as they come, so the queue stays short.
func (x *scratchIndex) loop() {
	for {
		x.mu.Lock()
		fd := x.fd
		x.mu.Unlock()
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, 1000); err != nil && !errors.Is(err, unix.EINTR) {
			return
		}
		x.mu.Lock()
		x.sync()
		x.mu.Unlock()
	}
}

// owned lists what uid owns under the roots, as walkOwned(tmpDirs, skip,
// uid, gid, true) would; ok is false when the index cannot be trusted.
func (x *scratchIndex) owned(uid, gid uint32, skip []string) (paths []string, ok bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.sync() {
		return nil, false
	}
	for _, root := range x.roots {
		x.collect(root, uid, gid, skip, &paths)
	}
	return paths, true
}

func (x *scratchIndex) collect(dir string, uid, gid uint32, skip []string, out *[]string) {
	d := x.dirs[dir]
	if d == nil {
		return
	}
	for name, e := range d.entries {
		p := filepath.Join(dir, name)
		switch {
		case slices.Contains(skip, p):
		case e.uid == uid:
			*out = append(*out, p)
		case e.isDir() && e.dev == d.dev && searchable(&syscall.Stat_t{Gid: e.gid, Mode: e.mode}, gid):
			x.collect(p, uid, gid, skip, out)
		}
	}
}

// sync drains the queue, rebuilding after an overflow. Caller holds mu.
func (x *scratchIndex) sync() bool {
	if !x.broken {
		x.drain()
	}
	if x.broken {
		_ = x.rebuild()
		x.drain()
	}
	return !x.broken
}

// rebuild starts over: a new inotify instance, every root scanned.
func (x *scratchIndex) rebuild() error {
	if x.fd >= 0 {
		unix.Close(x.fd)
	}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		x.fd, x.broken = -1, true
		return fmt.Errorf("inotify: %w", err)
	}
	x.fd, x.broken = fd, false
	x.dirs, x.byWD = map[string]*idxDir{}, map[int32]string{}
	for _, root := range x.roots {
		var st syscall.Stat_t
		if syscall.Lstat(root, &st) == nil {
			x.scan(root, st.Dev, st.Ino)
		}
	}
	if x.broken {
		return errors.New("scratch index: a watch could not be added")
	}
	return nil
}

// scan watches dir, then reads it (what appears after the watch comes as
// events) and scans the subdirectories the walk would enter.
func (x *scratchIndex) scan(dir string, dev, ino uint64) {
	wd, err := unix.InotifyAddWatch(x.fd, dir, scratchMask)
	if err != nil {
		if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.ENOTDIR) {
			x.broken = true // ENOSPC (watch limit), EACCES: cannot follow it
		}
		return
	}
	d := &idxDir{wd: int32(wd), ino: ino, dev: dev, entries: map[string]idxEnt{}}
	x.dirs[dir], x.byWD[int32(wd)] = d, dir
	f, err := os.Open(dir)
	if err != nil {
		return
	}
	names, _ := f.Readdirnames(-1)
	f.Close()
	for _, n := range names {
		x.update(dir, n)
	}
}

// update re-reads dir/name into the index. Caller holds mu.
func (x *scratchIndex) update(dir, name string) {
	d := x.dirs[dir]
	if d == nil {
		return
	}
	p := filepath.Join(dir, name)
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		delete(d.entries, name)
		x.drop(p)
		return
	}
	e := idxEnt{uid: st.Uid, gid: st.Gid, mode: st.Mode, dev: st.Dev}
	d.entries[name] = e
	enter := e.isDir() && e.dev == d.dev && e.mode&0o011 != 0
	if old := x.dirs[p]; old != nil && (!enter || old.ino != st.Ino) {
		x.drop(p) // no longer entered, or another directory by that name
	}
	if _, indexed := x.dirs[p]; enter && !indexed {
		x.scan(p, d.dev, st.Ino)
	}
}

// drop forgets the indexed directory p and everything under it.
func (x *scratchIndex) drop(p string) {
	d := x.dirs[p]
	if d == nil {
		return
	}
	for name := range d.entries {
		x.drop(filepath.Join(p, name))
	}
	_, _ = unix.InotifyRmWatch(x.fd, uint32(d.wd))
	delete(x.byWD, d.wd)
	delete(x.dirs, p)
}

// drain reads and applies every queued event. Caller holds mu.
func (x *scratchIndex) drain() {
	for {
		n, err := unix.Read(x.fd, x.buf[:])
		switch {
		case errors.Is(err, unix.EAGAIN):
			return
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil || n <= 0:
			x.broken = true
			return
		}
		for b := x.buf[:n]; len(b) >= unix.SizeofInotifyEvent; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
			end := unix.SizeofInotifyEvent + int(ev.Len)
			if end > len(b) {
				break
			}
			name := string(b[unix.SizeofInotifyEvent:end])
			for len(name) > 0 && name[len(name)-1] == 0 {
				name = name[:len(name)-1]
			}
			x.event(ev.Wd, ev.Mask, name)
			b = b[end:]
		}
		if x.broken {
			return
		}
	}
}

func (x *scratchIndex) event(wd int32, mask uint32, name string) {
	if mask&unix.IN_Q_OVERFLOW != 0 {
		x.broken = true
		return
	}
	dir, ok := x.byWD[wd]
	if !ok {
		return // a watch already dropped
	}
	if mask&unix.IN_IGNORED != 0 {
		// The directory went (or its file system): forget it, and look
		// again at its name in the parent, in case another took it.
		if d := x.dirs[dir]; d == nil || d.wd != wd {
			delete(x.byWD, wd) // an older watch of a path indexed anew
			return
		}
		x.drop(dir)
		if slices.Contains(x.roots, dir) {
			x.broken = true
			return
		}
		x.update(filepath.Dir(dir), filepath.Base(dir))
		return
	}
	if name != "" {
		x.update(dir, name)
	}
}
