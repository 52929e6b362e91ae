package gish

import (
	"mvdan.cc/sh/v3/syntax"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// jobControl gives each command line's programs a process group of their
// own that holds the terminal while they run, as an interactive shell
// does: Ctrl-C and Ctrl-Z reach that line's programs only, never the
// background jobs of earlier lines or GISH itself, and GISH takes the
// terminal back before each prompt. Only for an interactive shell on a
// PTY.
type jobControl struct {
	on    bool
	tty   int // GISH's descriptor of its controlling terminal
	shell int // GISH's own process group

	mu   sync.Mutex  // held from choosing a group to the program's start
	line int         // the current line's group; 0: none yet
	live map[int]int // group → programs of it still running
}

func newJobControl(interactive bool, tty *os.File) *jobControl {
	jc := &jobControl{live: map[int]int{}}
	if !interactive || tty == nil {
		return jc
	}
	fd := int(tty.Fd())
	if _, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP); err != nil {
		return jc // not a terminal
	}
	jc.on, jc.tty, jc.shell = true, fd, syscall.Getpgrp()
	return jc
}

// newLine starts a command line: its first program opens a new group.
func (jc *jobControl) newLine() {
	jc.mu.Lock()
	jc.line = 0
	jc.mu.Unlock()
}

// attrs sets the program's process group (locking jc.mu; started or
// abandoned must follow). The first program of a line (or the first after
// its group emptied) leads a new group and puts it in the foreground; the
// others join it, so pipelines share the terminal.
func (jc *jobControl) attrs(a *syscall.SysProcAttr, background bool) {
	if !jc.on {
		return
	}
	jc.mu.Lock()
	a.Setpgid = true
	if background {
		// `cmd &`: a group of its own that never takes the terminal.
		a.Pgid, a.Foreground = 0, false
		return
	}
	if jc.line != 0 && jc.live[jc.line] > 0 {
		a.Pgid = jc.line
		return
	}
	a.Pgid, a.Foreground, a.Ctty = 0, true, jc.tty
}

// started records a started program and returns its group.
func (jc *jobControl) started(a *syscall.SysProcAttr, pid int) int {
	if !jc.on {
		return pid
	}
	defer jc.mu.Unlock()
	pg := a.Pgid
	if pg == 0 {
		pg = pid
		if a.Foreground {
			jc.line = pid
		}
	}
	jc.live[pg]++
	return pg
}

// abandoned releases attrs' lock after a failed start.
func (jc *jobControl) abandoned() {
	if jc.on {
		jc.mu.Unlock()
	}
}

// exited records that a program of group pg ended.
func (jc *jobControl) exited(pg int) {
	if !jc.on {
		return
	}
	jc.mu.Lock()
	defer jc.mu.Unlock()
	if jc.live[pg]--; jc.live[pg] <= 0 {
		delete(jc.live, pg)
	}
}

// give hands the terminal to group pg (fg); take takes it back for GISH.
func (jc *jobControl) give(pg int) { jc.setForeground(pg) }
func (jc *jobControl) take()       { jc.setForeground(jc.shell) }

// setForeground sets the terminal's foreground group. GISH may be in the
// background when it does: SIGTTOU is blocked on this thread meanwhile,
// which is what lets a background process change it.
func (jc *jobControl) setForeground(pg int) {
	if !jc.on {
		return
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var set, old unix.Sigset_t
	set.Val[0] = 1 << (uint(syscall.SIGTTOU) - 1)
	if unix.PthreadSigmask(unix.SIG_BLOCK, &set, &old) != nil {
		return
	}
	unix.IoctlSetPointerInt(jc.tty, unix.TIOCSPGRP, pg)
	unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
}

// watchStop reports on the returned channel when process pid stops
// (Ctrl-Z), polling without reaping, until done closes.
func watchStop(pid int, done <-chan struct{}) <-chan struct{} {
	stopped := make(chan struct{})
	go func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			var info unix.Siginfo
			if err := unix.Waitid(unix.P_PID, pid, &info, unix.WSTOPPED|unix.WNOHANG|unix.WNOWAIT, nil); err != nil {
				return
			}
			if info.Signo != 0 { // WNOHANG leaves it zero while nothing changed
				// Consume the stop so a later stop is seen again.
				unix.Waitid(unix.P_PID, pid, &info, unix.WSTOPPED|unix.WNOHANG, nil)
				close(stopped)
				return
			}
		}
	}()
	return stopped
}

// continueGroup wakes a stopped job.
func continueGroup(pg int) { syscall.Kill(-pg, syscall.SIGCONT) }

// backgroundSpans are the byte ranges of a line's `… &` statements.
func backgroundSpans(f *syntax.File) [][2]uint {
	var out [][2]uint
	syntax.Walk(f, func(n syntax.Node) bool {
		if st, ok := n.(*syntax.Stmt); ok && st.Background {
			out = append(out, [2]uint{st.Pos().Offset(), st.End().Offset()})
		}
		return true
	})
	return out
}

// inBackground reports whether a command at pos belongs to a `… &`
// statement of the running line.
func (sh *Shell) inBackground(pos syntax.Pos) bool {
	if !pos.IsValid() {
		return false
	}
	o := pos.Offset()
	for _, sp := range sh.bgSpans {
		if o >= sp[0] && o < sp[1] {
			return true
		}
	}
	return false
}
