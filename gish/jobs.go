package gish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"mvdan.cc/sh/v3/interp"
)

// job is one program GISH started: in the foreground of its line, or left
// running by `&` after the line returned.
type job struct {
	id      int
	pid     int
	pgid    int // its process group (its pid without job control)
	argv    []string
	done    chan struct{}
	stopped atomic.Bool // stopped by Ctrl-Z, until fg or bg
}

// jobTable tracks the running programs for `jobs` and `fg`.
type jobTable struct {
	mu   sync.Mutex
	next int
	live map[int]*job
}

func (t *jobTable) add(pid int, argv []string) *job {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.live == nil {
		t.live = map[int]*job{}
	}
	t.next++
	j := &job{id: t.next, pid: pid, argv: argv, done: make(chan struct{})}
	t.live[j.id] = j
	return j
}

func (t *jobTable) remove(j *job) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.live, j.id)
	close(j.done)
}

// list returns the running jobs, oldest first.
func (t *jobTable) list() []*job {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*job, 0, len(t.live))
	for id := 1; id <= t.next; id++ {
		if j, ok := t.live[id]; ok {
			out = append(out, j)
		}
	}
	return out
}

// jobAttrs sets how a program is started relative to the shell: killed
// if GISH dies; with job control (jobControl.attrs) in its line's process
// group, which holds the terminal; without it in GISH's own group.
func (sh *Shell) jobAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// waitJob waits for a started program; an interrupted line (Ctrl-C at
// the prompt, the session's end) interrupts it and wakes it if stopped.
// With job control a Ctrl-C that kills it also ends the rest of its line
// (as in bash), and a Ctrl-Z leaves it stopped in the job table and goes
// on; a program left running by `&` stays in the table until it exits.
func (sh *Shell) waitJob(ctx context.Context, cmd *exec.Cmd, wait func() error, pg int) error {
	j := sh.jobs.add(cmd.Process.Pid, cmd.Args)
	j.pgid = pg
	stop := context.AfterFunc(ctx, func() { interrupt(j.pid) })
	defer stop()
	res := make(chan error, 1)
	go func() {
		err := wait()
		sh.jc.exited(pg)
		sh.jobs.remove(j)
		res <- err
	}()
	var stopped <-chan struct{}
	if sh.jc.on {
		stopped = watchStop(j.pid, j.done)
	}
	select {
	case err := <-res:
		if sh.jc.on && signaledBy(err, syscall.SIGINT) && sh.lineCancel != nil {
			sh.lineCancel()
		}
		return exitStatus(err)
	case <-stopped:
		sh.stopped(j)
		return interp.ExitStatus(128 + uint8(syscall.SIGTSTP))
	}
}

// stopped takes the terminal back from a job Ctrl-Z stopped.
func (sh *Shell) stopped(j *job) {
	j.stopped.Store(true)
	sh.jc.take()
	fmt.Fprintf(sh.stderr, "\r\n[%d]+ Stopped  %s\r\n", j.id, strings.Join(j.argv, " "))
}

// signaledBy reports whether a program's Wait error says sig killed it.
func signaledBy(err error, sig syscall.Signal) bool {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		ws, ok := ee.Sys().(syscall.WaitStatus)
		return ok && ws.Signaled() && ws.Signal() == sig
	}
	return false
}

func interrupt(pid int) {
	syscall.Kill(pid, syscall.SIGINT)
	syscall.Kill(pid, syscall.SIGCONT)
}

// jobsCmd is `jobs`: the programs still running, `&` ones included.
func (sh *Shell) jobsCmd(w io.Writer, _ []string) error {
	for _, j := range sh.jobs.list() {
		if j.pid == os.Getpid() {
			continue
		}
		state := "running"
		if j.stopped.Load() {
			state = "stopped"
		}
		fmt.Fprintf(w, "[%d] %d %s  %s\n", j.id, j.pid, state, strings.Join(j.argv, " "))
	}
	return nil
}

// fgCmd is `fg [%N]`: wait for a job (the newest by default) as if it ran
// in the foreground; Ctrl-C interrupts it.
func (sh *Shell) fgCmd(ctx context.Context, w io.Writer, args []string) error {
	j, err := sh.pickJob(args, false)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, strings.Join(j.argv, " "))
	var stopped <-chan struct{}
	if sh.jc.on {
		sh.jc.give(j.pgid)
		defer sh.jc.take()
		stopped = watchStop(j.pid, j.done)
	}
	j.stopped.Store(false)
	continueGroup(j.pgid)
	select {
	case <-j.done:
	case <-stopped:
		sh.stopped(j)
	case <-ctx.Done():
		interrupt(j.pid)
		<-j.done
	}
	return nil
}

// bgCmd is `bg [%N]`: let a stopped job (the newest by default) run on in
// the background.
func (sh *Shell) bgCmd(_ context.Context, w io.Writer, args []string) error {
	j, err := sh.pickJob(args, true)
	if err != nil {
		return err
	}
	j.stopped.Store(false)
	continueGroup(j.pgid)
	fmt.Fprintf(w, "[%d]+ %s &\n", j.id, strings.Join(j.argv, " "))
	return nil
}

// pickJob is the job `%N` names, else the newest (the newest stopped one
// when onlyStopped).
func (sh *Shell) pickJob(args []string, onlyStopped bool) (*job, error) {
	var cands []*job
	for _, j := range sh.jobs.list() {
		if j.pid != os.Getpid() && (!onlyStopped || j.stopped.Load()) {
			cands = append(cands, j)
		}
	}
	if len(args) == 0 {
		if len(cands) == 0 {
			return nil, fmt.Errorf("no current job")
		}
		return cands[len(cands)-1], nil
	}
	n, err := strconv.Atoi(strings.TrimPrefix(args[0], "%"))
	if err != nil {
		return nil, fmt.Errorf("%q is not a job number", args[0])
	}
	for _, c := range cands {
		if c.id == n {
			return c, nil
		}
	}
	return nil, fmt.Errorf("no job %%%d", n)
}
