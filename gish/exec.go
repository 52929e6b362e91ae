package gish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
)

// passEnv are the variables a program GISH starts may inherit; everything
// else (LD_*, PAGER, EDITOR, BASH_ENV, PYTHON*, GIT_* …) is dropped.
var passEnv = map[string]bool{
	"HOME": true, "USER": true, "LOGNAME": true, "PATH": true, "TERM": true, "LANG": true,
	"LC_ALL": true, "LC_CTYPE": true, "LC_MESSAGES": true, "TZ": true, "PWD": true,
	"COLUMNS": true, "LINES": true, "IGRID_SESSION": true, "IGRID_NODE": true,
}

// fixedEnv is always set for programs, whatever the user exported.
var fixedEnv = []string{"SHELL=/usr/sbin/nologin", "LESSSECURE=1"}

// programEnv builds a program's environment from scratch out of the
// shell's exported variables.
func programEnv(env expand.Environ) []string {
	var out []string
	env.Each(func(name string, v expand.Variable) bool {
		if v.Exported && v.IsSet() && passEnv[name] {
			out = append(out, name+"="+v.String())
		}
		return true
	})
	return append(out, fixedEnv...)
}

// callHandler sees every simple command after expansion, builtins
// included, and refuses the builtins that could bypass the checks.
func (sh *Shell) callHandler(ctx context.Context, args []string) ([]string, error) {
	if _, ok := denyingBuiltins[args[0]]; ok {
		_, err := sh.policy.CheckCommand(args[0], "")
		return nil, sh.deny(ctx, err)
	}
	if f, ok := sh.commands()[args[0]]; ok {
		// GISH's own commands shadow the interpreter's builtins of that name.
		if err := f(interp.HandlerCtx(ctx).Stdout, args[1:]); err != nil {
			return nil, err
		}
		return []string{"true"}, nil
	}
	return args, nil
}

// execHandler runs a program (not a builtin, not a function) after the
// policy allowed its final name; GISH's own commands are answered here.
func (sh *Shell) execHandler(next interp.ExecHandlerFunc) interp.ExecHandlerFunc {
	return func(ctx context.Context, args []string) error {
		hc := interp.HandlerCtx(ctx)
		real, err := sh.policy.CheckCommand(args[0], hc.Dir)
		if err != nil {
			return sh.deny(ctx, err)
		}
		return runProgram(ctx, hc, real, args)
	}
}

// deny reports a denial on the shell's stderr and turns it into exit
// status 126, which stops the rest of an && list as bash would.
func (sh *Shell) deny(ctx context.Context, err error) error {
	sh.denied = true
	fmt.Fprintf(interp.HandlerCtx(ctx).Stderr, "gish: %v\n", err)
	return interp.ExitStatus(126)
}

// runProgram execs the real path directly (never through a shell), with a
// rebuilt environment, in GISH's process group so Ctrl-C reaches it.
func runProgram(ctx context.Context, hc interp.HandlerContext, real string, args []string) error {
	cmd := exec.Command(real)
	cmd.Args = args
	cmd.Env = programEnv(hc.Env)
	cmd.Dir = hc.Dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = hc.Stdin, hc.Stdout, hc.Stderr
	cmd.WaitDelay = time.Second
	err := cmd.Start()
	for delay := time.Millisecond; errors.Is(err, syscall.ETXTBSY) && delay < 300*time.Millisecond; delay *= 2 {
		time.Sleep(delay)
		cmd = cloneCmd(cmd)
		err = cmd.Start()
	}
	if err != nil {
		fmt.Fprintf(hc.Stderr, "gish: %s: %v\n", args[0], err)
		return interp.ExitStatus(126)
	}
	stop := context.AfterFunc(ctx, func() {
		// Ctrl-C or Ctrl-Z at the prompt: interrupt, and wake it if stopped.
		cmd.Process.Signal(os.Interrupt)
		cmd.Process.Signal(syscall.SIGCONT)
	})
	defer stop()
	err = cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil, errors.Is(err, exec.ErrWaitDelay):
		return nil
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return interp.ExitStatus(128 + uint8(ws.Signal()))
		}
		return interp.ExitStatus(uint8(ee.ExitCode()))
	}
	return err
}

func cloneCmd(c *exec.Cmd) *exec.Cmd {
	n := exec.Command(c.Path)
	n.Args, n.Env, n.Dir = c.Args, c.Env, c.Dir
	n.Stdin, n.Stdout, n.Stderr, n.WaitDelay = c.Stdin, c.Stdout, c.Stderr, c.WaitDelay
	return n
}

// openHandler governs redirections: reads as the kernel allows the
// account, writes only inside the write areas.
func (sh *Shell) openHandler(ctx context.Context, path string, flag int, perm os.FileMode) (io.ReadWriteCloser, error) {
	if flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE|os.O_APPEND|os.O_TRUNC) != 0 {
		if !filepath.IsAbs(path) {
			path = filepath.Join(interp.HandlerCtx(ctx).Dir, path)
		}
		if err := sh.policy.CheckWrite(path); err != nil {
			// A PathError is reported by the interpreter and fails only
			// this command, as a refused open does in bash.
			return nil, &os.PathError{Op: "gish", Path: path, Err: err}
		}
	}
	return interp.DefaultOpenHandler()(ctx, path, flag, perm)
}

// shortHome shows dir with the home replaced by ~.
func shortHome(dir, home string) string {
	if dir == home {
		return "~"
	}
	if strings.HasPrefix(dir, home+"/") {
		return "~" + dir[len(home):]
	}
	return dir
}
