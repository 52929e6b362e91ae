package confine

import (
	"fmt"
	"os/exec"
	"runtime"
	"sync"

	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// Ruleset is a Spec compiled once into a Landlock ruleset. Start confines
// one program with it without a helper process: Landlock domains and
// no_new_privs belong to a thread, so a dedicated OS thread restricts
// itself, forks the program (which inherits that thread's domain) and dies
// right after; no other thread of GISH is touched, and none is left in the
// program's domain.
type Ruleset struct {
	fd  int // -1 when Landlock is off
	off bool

	wmu sync.Mutex // fd against Close during a start
}

// NewRuleset compiles s. With s.Off it confines nothing but no_new_privs.
func NewRuleset(s *Spec) (*Ruleset, error) {
	if s.Off {
		return &Ruleset{fd: -1, off: true}, nil
	}
	abi := ABI()
	if abi == 0 || abi < s.MinABI {
		return nil, fmt.Errorf("%w: kernel ABI %d, policy requires %d", ErrNoLandlock, abi, max(s.MinABI, 1))
	}
	fs := uint64(handled(abi))
	attr := ll.RulesetAttr{HandledAccessFS: fs}
	if abi >= 6 {
		// A program may not signal (or reach by abstract socket) anything
		// outside its own domain: GISH, other jobs, other sessions.
		attr.Scoped = ll.ScopeSignal | ll.ScopeAbstractUnixSocket
	}
	fd, err := ll.LandlockCreateRuleset(&attr, 0)
	if err != nil {
		return nil, fmt.Errorf("confine: landlock_create_ruleset: %w", err)
	}
	r := &Ruleset{fd: fd}
	groups := []struct {
		file, dir uint64
		paths     []string
	}{
		{uint64(fileRead), uint64(dirRead), s.Read},
		{uint64(fileWrite), uint64(dirWrite), s.Write},
		{uint64(fileExec), uint64(fileExec) | ll.AccessFSReadDir, s.Exec},
		{uint64(devRights), uint64(devRights) | ll.AccessFSReadDir, s.Dev},
	}
	for _, g := range groups {
		for _, p := range existing(g.paths) {
			if err := r.add(p, g.file&fs, g.dir&fs); err != nil {
				r.Close()
				return nil, err
			}
		}
	}
	return r, nil
}

func (r *Ruleset) add(path string, file, dir uint64) error {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("confine: %s: %w", path, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	access := file
	if unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
		access = dir
	}
	attr := ll.PathBeneathAttr{ParentFd: fd, AllowedAccess: access}
	if err := ll.LandlockAddPathBeneathRule(r.fd, &attr, 0); err != nil {
		return fmt.Errorf("confine: landlock rule for %s: %w", path, err)
	}
	return nil
}

// Close releases the ruleset.
func (r *Ruleset) Close() {
	if r == nil {
		return
	}
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.fd >= 0 {
		unix.Close(r.fd)
		r.fd = -1
	}
}

// Start starts cmd confined and returns the function that waits for it.
// cmd must not be waited for otherwise.
//
// No thread of the caller stays in the program's domain: the program is
// forked from a fresh thread that is never the process's main thread (a
// kill(getppid()) targets the main thread) and that exits as soon as the
// fork returned. Landlock's signal scope lets a domain signal only its own
// members, so the program cannot signal any thread of the caller. A
// Pdeathsig would fire at once when that thread exits: Start clears it (the
// caller kills its programs itself when it ends; GISH's server kills the
// shell's Unix session).
func (r *Ruleset) Start(cmd *exec.Cmd) (wait func() error, err error) {
	if cmd.SysProcAttr != nil {
		cmd.SysProcAttr.Pdeathsig = 0
	}
	started := make(chan error, 1)
	onThread(func() {
		if err := r.restrictThread(); err != nil {
			started <- err
			return
		}
		started <- cmd.Start()
		// Returning ends the locked goroutine, and the kernel thread with it.
	})
	if err := <-started; err != nil {
		return nil, err
	}
	return cmd.Wait, nil
}

// onThread runs f on a goroutine locked to an OS thread other than the main
// thread and never unlocked, so the thread ends with f. A goroutine that
// finds itself on the main thread keeps it locked while it hands f to a
// second goroutine, which therefore cannot be scheduled there.
func onThread(f func()) {
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() != unix.Getpid() {
			f()
			return // thread exits
		}
		ready := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			close(ready)
			f()
		}()
		<-ready
		runtime.UnlockOSThread()
	}()
}

func (r *Ruleset) restrictThread() error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("confine: no_new_privs: %w", err)
	}
	if r.off {
		return nil
	}
	if err := ll.LandlockRestrictSelf(r.fd, 0); err != nil {
		return fmt.Errorf("confine: landlock_restrict_self: %w", err)
	}
	return nil
}
