package confine

import (
	"errors"
	"os/exec"
	"runtime"
	"sync"
)

// ErrRetired means the ruleset was closed: start on a fresh one.
var ErrRetired = errors.New("confine: ruleset closed")

// worker is one OS thread restricted once with a ruleset that starts
// programs on request, so a session does not pay a new thread and a new
// landlock_restrict_self per command. It never exits: a program's
// Pdeathsig is tied to the thread that forked it, so the thread must
// outlive every program it started (a retired worker idles; one per
// policy reload).
type worker struct {
	once sync.Once
	err  error
	reqs chan startReq
}

type startReq struct {
	cmd  *exec.Cmd
	done chan error
}

func (w *worker) start(r *Ruleset) error {
	w.once.Do(func() {
		w.reqs = make(chan startReq)
		ready := make(chan error)
		go func() {
			runtime.LockOSThread() // never unlocked: see worker
			err := r.restrictThread()
			ready <- err
			if err != nil {
				return
			}
			for req := range w.reqs {
				req.done <- req.cmd.Start()
			}
		}()
		w.err = <-ready
	})
	return w.err
}

// StartShared starts cmd on the ruleset's long-lived restricted thread
// and returns the function that waits for it (cmd must not be waited for
// otherwise). Use it for the session's own ruleset; Start (a thread per
// program) for rulesets closed right after one start.
func (r *Ruleset) StartShared(cmd *exec.Cmd) (func() error, error) {
	r.wmu.Lock()
	if r.fd < 0 && !r.off {
		r.wmu.Unlock()
		return nil, ErrRetired
	}
	if r.w == nil {
		r.w = &worker{}
	}
	w := r.w
	r.wmu.Unlock()
	if err := w.start(r); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	w.reqs <- startReq{cmd: cmd, done: done}
	if err := <-done; err != nil {
		return nil, err
	}
	return cmd.Wait, nil
}
