package gish

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// job is one program GISH started: in the foreground of its line, or left
// running by `&` after the line returned.
type job struct {
	id   int
	pid  int
	argv []string
	done chan struct{}
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

// jobAttrs sets how a program is started relative to the shell: in the
// shell's process group, so that the terminal's Ctrl-C reaches the
// running program (and the shell, which only cancels the line); killed
// if GISH dies.
func (sh *Shell) jobAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// waitJob waits for a started program; an interrupted line (Ctrl-C,
// Ctrl-Z at the prompt) interrupts it and wakes it if it was stopped.
// A program left running by `&` stays in the job table until it exits.
func (sh *Shell) waitJob(ctx context.Context, cmd *exec.Cmd, wait func() error) error {
	j := sh.jobs.add(cmd.Process.Pid, cmd.Args)
	defer sh.jobs.remove(j)
	stop := context.AfterFunc(ctx, func() { interrupt(j.pid) })
	defer stop()
	return exitStatus(wait())
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
		fmt.Fprintf(w, "[%d] %d running  %s\n", j.id, j.pid, strings.Join(j.argv, " "))
	}
	return nil
}

// fgCmd is `fg [%N]`: wait for a job (the newest by default) as if it ran
// in the foreground; Ctrl-C interrupts it.
func (sh *Shell) fgCmd(ctx context.Context, w io.Writer, args []string) error {
	jobs := sh.jobs.list()
	if len(jobs) == 0 {
		return fmt.Errorf("no current job")
	}
	j := jobs[len(jobs)-1]
	if len(args) > 0 {
		n, err := strconv.Atoi(strings.TrimPrefix(args[0], "%"))
		if err != nil {
			return fmt.Errorf("%q is not a job number", args[0])
		}
		j = nil
		for _, c := range jobs {
			if c.id == n {
				j = c
			}
		}
		if j == nil {
			return fmt.Errorf("no job %%%d", n)
		}
	}
	fmt.Fprintln(w, strings.Join(j.argv, " "))
	select {
	case <-j.done:
	case <-ctx.Done():
		interrupt(j.pid)
		<-j.done
	}
	return nil
}
