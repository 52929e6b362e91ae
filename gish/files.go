package gish

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// SystemReadAreas are the shared trees every program needs to read
// (libraries, data, configuration, /proc). The directories of programs
// (/usr/bin, /bin, /sbin) are not among them: only allowed programs are
// readable there, so the loader cannot be used to map a forbidden one.
func SystemReadAreas() []string {
	return []string{"/usr/lib", "/usr/lib64", "/usr/libexec", "/usr/share", "/usr/include",
		"/usr/local/lib", "/usr/local/share", "/etc", "/proc", "/sys/devices/system/cpu", "/var/lib/dpkg/alternatives"}
}

// devFiles may be read, written and ioctl'd by every program.
var devFiles = []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/pts", "/dev/ptmx"}

// kernelPath resolves path as the kernel does (symlinks followed, then
// `..`, in that order, no magic links): it opens it O_PATH and reads back
// the name of what it opened.
func kernelPath(path string) (string, error) {
	fd, err := unix.Openat2(unix.AT_FDCWD, path, &unix.OpenHow{
		Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_NO_MAGICLINKS})
	if err != nil {
		return "", &os.PathError{Op: "resolve", Path: path, Err: err}
	}
	defer unix.Close(fd)
	return os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
}

// resolveForWrite resolves path as the kernel would when creating it: the
// file itself if it exists (symlinks followed), else its parent directory.
func resolveForWrite(path string) (string, error) {
	if real, err := kernelPath(path); err == nil {
		return real, nil
	}
	if _, err := os.Lstat(path); err == nil {
		// A dangling symlink: writing would create its target elsewhere.
		return "", fmt.Errorf("%s is a dangling symlink", path)
	}
	dir, err := kernelPath(filepath.Dir(path))
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.Base(path)), nil
}

// within returns the area holding real, if any.
func within(real string, areas ...[]string) (string, bool) {
	for _, list := range areas {
		for _, a := range list {
			if real == a || strings.HasPrefix(real, a+"/") || a == "/" {
				return a, true
			}
		}
	}
	return "", false
}

func isDev(real string) bool {
	_, ok := within(real, devFiles)
	return ok
}

// CheckWrite decides whether path may be opened for writing.
func (p *Policy) CheckWrite(path string) error {
	if err := p.checkDenied(path, true); err != nil {
		return err
	}
	if p.beneath(path, p.WriteAreas) != beneathNo {
		return nil
	}
	real, err := resolveForWrite(path)
	if err == nil && isDev(real) {
		return nil
	}
	if err == nil {
		if _, ok := within(real, p.WriteAreas); ok {
			return nil
		}
	}
	return &Denial{Subject: path, Rule: RuleWrite, Reason: "is outside the areas class " + p.Class + " may write"}
}

// CheckRead decides whether path may be read. A path that does not exist
// is not refused here (there is nothing to read; the program reports it).
func (p *Policy) CheckRead(path string) error {
	if err := p.checkDenied(path, false); err != nil {
		return err
	}
	if b := p.beneath(path, p.WriteAreas); b != beneathNo {
		return nil
	}
	if b := p.beneath(path, p.ReadAreas); b != beneathNo {
		return nil
	}
	real, err := kernelPath(path)
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			return nil
		}
		return &Denial{Subject: path, Rule: RuleRead, Reason: "cannot be resolved: " + err.Error()}
	}
	if _, ok := within(real, p.ReadAreas, p.WriteAreas, devFiles); ok {
		return nil
	}
	if _, ok := p.byReal[real]; ok {
		return nil
	}
	return &Denial{Subject: path, Rule: RuleRead, Reason: "is outside the areas class " + p.Class + " may read"}
}

// open opens path for a redirection inside the area that holds it, through
// os.Root, so that nothing swapped in between the check and the open (a
// symlink, a `..`) can lead outside that area.
func (p *Policy) open(path string, flag int, perm os.FileMode) (io.ReadWriteCloser, error) {
	write := flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE|os.O_APPEND|os.O_TRUNC) != 0
	var real string
	var err error
	var areas [][]string
	if write {
		err = p.CheckWrite(path)
		real, _ = resolveForWrite(path)
		areas = [][]string{devFiles, p.WriteAreas}
	} else {
		err = p.CheckRead(path)
		if err == nil {
			real, err = kernelPath(path)
		}
		areas = [][]string{devFiles, p.WriteAreas, p.ReadAreas}
	}
	if err != nil {
		return nil, err
	}
	area, ok := within(real, areas...)
	if !ok {
		if _, exe := p.byReal[real]; exe && !write {
			return os.OpenFile(real, flag, perm)
		}
		return nil, &Denial{Subject: path, Rule: RuleRead, Reason: "is outside the areas of class " + p.Class}
	}
	if area == real {
		return os.OpenFile(real, flag, perm) // a device file or the area itself
	}
	root, err := os.OpenRoot(area)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	rel, _ := filepath.Rel(area, real)
	return root.OpenFile(rel, flag, perm)
}

// isUserBinary reports whether real is a regular file with an execute bit:
// a program the user brought, which UbAM then judges by its signature.
func isUserBinary(real string) bool {
	st, err := os.Stat(real)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// checkDenied refuses a path (as given, and as the kernel resolves it)
// that matches one of the class's denied files: deny beats allow, also
// inside an allowed area. "DIR/**" denies everything below DIR.
func (p *Policy) checkDenied(path string, write bool) error {
	if len(p.DenyFiles) == 0 {
		return nil
	}
	cands := []string{filepath.Clean(path)}
	resolve := kernelPath
	if write {
		resolve = resolveForWrite
	}
	if real, err := resolve(path); err == nil {
		cands = append(cands, real)
	}
	for _, pat := range p.DenyFiles {
		for _, c := range cands {
			if denyMatch(pat, c) {
				return &Denial{Subject: path, Rule: RuleDenyFiles,
					Reason: fmt.Sprintf("is denied to class %s (account.files.deny: %s)", p.Class, pat)}
			}
		}
	}
	return nil
}

func denyMatch(pat, path string) bool {
	if dir, ok := strings.CutSuffix(pat, "/**"); ok {
		return path == dir || strings.HasPrefix(path, dir+"/")
	}
	ok, _ := filepath.Match(pat, path)
	return ok
}
