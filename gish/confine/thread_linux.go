package confine

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

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
	fd     int // -1 when Landlock is off
	off    bool
	scoped bool // signals are scoped (ABI ≥ 6): programs start gated

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
	r := &Ruleset{fd: fd, scoped: abi >= 6}
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
// members, so the program cannot signal any thread of the caller — once
// that thread is gone. Until then the thread is a member, and a signal to
// it goes to the whole caller: with signal scoping on, the program is held
// before its first instruction until the thread has exited (gate, below).
// A Pdeathsig would fire at once when that thread exits: Start clears it
// (the caller kills its programs itself when it ends; GISH's server kills
// the shell's Unix session).
func (r *Ruleset) Start(cmd *exec.Cmd) (wait func() error, err error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = 0
	gated := r.scoped && !noGate.Load()
	cmd.SysProcAttr.Ptrace = gated
	started := make(chan startResult, 1)
	onThread(func() {
		if err := r.restrictThread(); err != nil {
			started <- startResult{err: err}
			return
		}
		err := cmd.Start()
		if gated && errors.Is(err, syscall.EPERM) { // ptrace refused here (Yama, seccomp): no gate
			noGate.Store(true)
			cmd.SysProcAttr.Ptrace, gated = false, false
			err = cmd.Start()
		}
		if err == nil && gated {
			err = holdAfterExec(cmd.Process.Pid)
		}
		started <- startResult{err: err, tid: unix.Gettid(), gated: gated}
		// Returning ends the locked goroutine, and the kernel thread with it.
	})
	res := <-started
	if res.err != nil {
		return nil, res.err
	}
	if res.gated {
		if err := release(cmd.Process.Pid, res.tid); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, err
		}
	}
	return cmd.Wait, nil
}

type startResult struct {
	err   error
	tid   int
	gated bool
}

// noGate records that this system refuses ptrace (PTRACE_TRACEME), so
// programs start without the gate: the starting thread then usually exits
// before the program runs, but nothing holds the program until it has.
var noGate atomic.Bool

// The gate: the program starts traced by the starting thread
// (SysProcAttr.Ptrace), so it stops right after its exec, before its first
// instruction. holdAfterExec, on that thread, waits for that stop and
// detaches with SIGSTOP: the program leaves the trace stopped. release,
// once the thread has exited, continues it.
func holdAfterExec(pid int) error {
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil {
		return fmt.Errorf("confine: wait for the program's exec: %w", err)
	}
	if !ws.Stopped() {
		return fmt.Errorf("confine: program ended before it started (status %v)", ws)
	}
	if _, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_DETACH, uintptr(pid), 0, uintptr(unix.SIGSTOP), 0, 0); e != 0 {
		unix.Kill(pid, unix.SIGKILL)
		return fmt.Errorf("confine: release the program: %w", e)
	}
	return nil
}

// release waits until thread tid of this process is gone, then continues
// the held program.
func release(pid, tid int) error {
	if err := threadGone(tid); err != nil {
		return err
	}
	return unix.Kill(pid, unix.SIGCONT)
}

// pidfdThread is PIDFD_THREAD (Linux 6.9): a pidfd for one thread, readable
// once that thread has exited.
const pidfdThread = unix.O_EXCL

// threadGone waits for thread tid to exit: on its pidfd where the kernel
// has thread pidfds, else by watching /proc/self/task (spinning briefly
// first: the thread exits microseconds after it handed over the program).
func threadGone(tid int) error {
	if fd, err := unix.PidfdOpen(tid, pidfdThread); err == nil {
		defer unix.Close(fd)
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			n, err := unix.Poll(fds, 5000)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return fmt.Errorf("confine: wait for starting thread %d: %w", tid, err)
			}
			if n == 0 {
				return fmt.Errorf("confine: starting thread %d still running after 5 s", tid)
			}
			return nil
		}
	} else if errors.Is(err, unix.ESRCH) {
		return nil // already gone
	}
	path := fmt.Sprintf("/proc/self/task/%d", tid)
	start := time.Now()
	for {
		var st unix.Stat_t
		if err := unix.Stat(path, &st); errors.Is(err, unix.ENOENT) {
			return nil
		}
		switch waited := time.Since(start); {
		case waited > 5*time.Second:
			return fmt.Errorf("confine: starting thread %d still running after 5 s", tid)
		case waited < time.Millisecond:
			runtime.Gosched()
		default:
			time.Sleep(100 * time.Microsecond)
		}
	}
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
