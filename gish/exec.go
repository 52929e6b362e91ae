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

	"github.com/igrid/igrid/gish/confine"
	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
)

// passEnv are the variables a program GISH starts may inherit; everything
// else (LD_*, PAGER, EDITOR, BASH_ENV, PYTHON*, GIT_* …) is dropped unless
// the policy's Env names it.
var passEnv = map[string]bool{
	"HOME": true, "USER": true, "LOGNAME": true, "PATH": true, "TERM": true, "LANG": true,
	"LC_ALL": true, "LC_CTYPE": true, "LC_MESSAGES": true, "TZ": true, "PWD": true,
	"COLUMNS": true, "LINES": true, "IGRID_SESSION": true, "IGRID_NODE": true, "TMPDIR": true,
}

// fixedEnv is set for programs whatever the user exported, unless the
// policy's Env names the variable. SHELL=nologin also puts vim in
// restricted mode.
var fixedEnv = []string{"SHELL=/usr/sbin/nologin", "LESSSECURE=1"}

// programEnv builds a program's environment from scratch out of the
// shell's exported variables.
func (p *Policy) programEnv(env expand.Environ) []string {
	var out []string
	env.Each(func(name string, v expand.Variable) bool {
		if v.Exported && v.IsSet() && (passEnv[name] || p.envAllowed(name)) {
			out = append(out, name+"="+v.String())
		}
		return true
	})
	for _, kv := range fixedEnv {
		if name, _, _ := strings.Cut(kv, "="); !p.envAllowed(name) {
			out = append(out, kv)
		}
	}
	return out
}

func (p *Policy) envAllowed(name string) bool {
	for _, e := range p.Env {
		if e == name || (strings.HasSuffix(e, "*") && strings.HasPrefix(name, e[:len(e)-1])) {
			return true
		}
	}
	return false
}

// callHandler sees every simple command after expansion, builtins
// included, and refuses the builtins that could bypass the checks.
func (sh *Shell) callHandler(ctx context.Context, args []string) ([]string, error) {
	if _, ok := denyingBuiltins[args[0]]; ok {
		_, err := sh.policy.CheckCommand(args[0], "")
		sh.record(ModuleEAM, args, interp.HandlerCtx(ctx).Dir, err, "")
		return nil, sh.deny(ctx, err)
	}
	switch args[0] {
	case "jobs":
		sh.jobsCmd(interp.HandlerCtx(ctx).Stdout, args[1:])
		return []string{"true"}, nil
	case "fg", "bg":
		f := sh.fgCmd
		if args[0] == "bg" {
			f = sh.bgCmd
		}
		if err := f(ctx, interp.HandlerCtx(ctx).Stdout, args[1:]); err != nil {
			fmt.Fprintf(interp.HandlerCtx(ctx).Stderr, "gish: %s: %v\n", args[0], err)
			return []string{"false"}, nil
		}
		return []string{"true"}, nil
	}
	if f, ok := sh.commands()[args[0]]; ok {
		// GISH's own commands shadow the interpreter's builtins of that name.
		if err := f(interp.HandlerCtx(ctx).Stdout, args[1:]); err != nil {
			fmt.Fprintf(interp.HandlerCtx(ctx).Stderr, "gish: %s: %v\n", args[0], err)
			return []string{"false"}, nil
		}
		return []string{"true"}, nil
	}
	return args, nil
}

// execHandler runs a program (not a builtin, not a function) after EAM,
// UbAM and SAM allowed it, through the confinement helper.
func (sh *Shell) execHandler(next interp.ExecHandlerFunc) interp.ExecHandlerFunc {
	return func(ctx context.Context, args []string) error {
		hc := interp.HandlerCtx(ctx)
		run, module, err := sh.decide(args, hc.Dir)
		sh.record(module, args, hc.Dir, err, run.confined)
		if err != nil {
			return sh.deny(ctx, err)
		}
		return sh.runProgram(ctx, hc, run)
	}
}

// launch is a decided program start.
type launch struct {
	real     string
	argv     []string
	spec     *confine.Spec // nil: the session's normal confinement
	confined string        // for the audit: landlock, strict, off, sudo
	sudo     bool          // a superuser class's sudo rule: started as is
}

// decide applies EAM, UbAM and SAM to one final argv, in that order; the
// module named is the one that decided.
func (sh *Shell) decide(args []string, dir string) (launch, string, error) {
	p := sh.policy
	if args[0] == "sudo" && len(p.Sudo) > 0 {
		argv, err := p.checkSudo(args[1:])
		return launch{real: sudoPath, argv: argv, confined: "sudo", sudo: true}, ModuleEAM, err
	}
	c, err := p.resolveCommand(args[0], dir)
	if err != nil {
		return launch{}, ModuleEAM, err
	}
	l := launch{real: c.real, argv: append([]string{c.name}, args[1:]...), confined: "landlock"}
	if sh.spec.Off {
		l.confined = "off"
	}
	if c.user {
		if l, err = sh.userLaunch(args[0], c.real, l); err != nil {
			return launch{}, ModuleUbAM, err
		}
	} else if err := p.CheckArgs(c.name, args[1:], dir); err != nil {
		return launch{}, ModuleEAM, err
	}
	if sh.cfg.SACSocket == "" {
		return l, map[bool]string{true: ModuleUbAM, false: ModuleEAM}[c.user], nil
	}
	if err := sh.admit(c.name, l.argv); err != nil {
		return launch{}, ModuleSAM, err
	}
	return l, ModuleSAM, nil
}

// userLaunch is UbAM for a user binary: a signed one runs as the agent's
// staged, verified copy (argv[0] stays the user's name) with execute on
// that copy only; an unsigned one, where the class says so, under the
// strict domain from where it is.
func (sh *Shell) userLaunch(name, real string, l launch) (launch, error) {
	mode, err := sh.policy.checkUserBinary(name, real)
	if err != nil {
		return l, err
	}
	l.argv[0] = name
	if mode == "strict" {
		l.spec, l.confined = sh.userSpec(real, true), "strict"
		return l, nil
	}
	staged, err := sh.stageUserBinary(name, real)
	if err != nil {
		return l, err
	}
	l.real, l.spec = staged, sh.userSpec(staged, false)
	return l, nil
}

// record sends one decision to the audit stream.
func (sh *Shell) record(module string, argv []string, dir string, err error, confined string) {
	if sh.audit == nil {
		return
	}
	ev := Event{Decision: "allow", Module: module, Argv: append([]string(nil), argv...), Cwd: dir, Confined: confined}
	var d *Denial
	if errors.As(err, &d) {
		ev.Decision, ev.Rule, ev.Subject, ev.Reason = "deny", d.Rule, d.Subject, d.Reason
	} else if err != nil {
		ev.Decision, ev.Reason = "deny", err.Error()
	}
	sh.audit.emit(ev)
}

// deny reports a denial on the shell's stderr and halts the whole line
// (a denied part stops what follows it, `;` included); Run turns
// errHalted into status 126.
func (sh *Shell) deny(ctx context.Context, err error) error {
	sh.denied = true
	fmt.Fprintf(interp.HandlerCtx(ctx).Stderr, "gish: %v\n", err)
	return errHalted
}

// errHalted stops the interpreter after a denial (already reported).
var errHalted = errors.New("gish: line halted by a denial")

// helperExe is the binary that confines and execs in helper mode: this one.
const helperExe = "/proc/self/exe"

// runProgram starts the real path directly (never through a shell), with
// a rebuilt environment, under the kernel confinement, and waits for it.
func (sh *Shell) runProgram(ctx context.Context, hc interp.HandlerContext, l launch) error {
	var cmd *exec.Cmd
	var err error
	var wait func() error
	for delay := time.Millisecond; ; delay *= 2 {
		cmd = sh.programCmd(hc, l)
		sh.jc.attrs(cmd.SysProcAttr, sh.inBackground(hc.Pos))
		wait, err = sh.start(cmd, l)
		if err != nil {
			sh.jc.abandoned()
		}
		if !errors.Is(err, syscall.ETXTBSY) || delay > 300*time.Millisecond {
			break
		}
		time.Sleep(delay) // a file just written is still open elsewhere
	}
	if err != nil {
		fmt.Fprintf(hc.Stderr, "gish: %s: %v\n", l.argv[0], err)
		return interp.ExitStatus(126)
	}
	pg := sh.jc.started(cmd.SysProcAttr, cmd.Process.Pid)
	return sh.waitJob(ctx, cmd, wait, pg)
}

func (sh *Shell) programCmd(hc interp.HandlerContext, l launch) *exec.Cmd {
	cmd := exec.Command(l.real)
	cmd.Args = l.argv
	if sh.policy.Landlock.Helper && !l.sudo {
		spec := l.spec
		if spec == nil {
			spec = &sh.spec
		}
		cmd = exec.Command(helperExe)
		cmd.Args = confine.Argv(confine.Marker, spec.Encode(), l.real, l.argv)
	}
	cmd.Env = sh.policy.programEnv(hc.Env)
	cmd.Dir = hc.Dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = hc.Stdin, hc.Stdout, hc.Stderr
	cmd.WaitDelay = time.Second
	sh.jobAttrs(cmd)
	return cmd
}

// start starts cmd under its confinement: through the helper, or on a
// thread restricted with the session's (or the launch's own) ruleset.
func (sh *Shell) start(cmd *exec.Cmd, l launch) (func() error, error) {
	if sh.policy.Landlock.Helper || l.sudo {
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		return cmd.Wait, nil
	}
	if l.spec != nil {
		rs, err := confine.NewRuleset(l.spec)
		if err != nil {
			return nil, err
		}
		defer rs.Close()
		return rs.Start(cmd)
	}
	rs, err := sh.ruleset()
	if err != nil {
		return nil, err
	}
	wait, err := rs.StartShared(cmd)
	if errors.Is(err, confine.ErrRetired) {
		// A policy reload replaced the ruleset since we looked it up.
		if rs, err = sh.ruleset(); err == nil {
			wait, err = rs.StartShared(cmd)
		}
	}
	return wait, err
}

// exitStatus turns a Wait error into the shell's status.
func exitStatus(err error) error {
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

// openHandler governs redirections and every file the shell itself opens:
// reads inside the read areas, writes inside the write areas, opened
// beneath the area (os.Root) after the kernel's resolution.
func (sh *Shell) openHandler(ctx context.Context, path string, flag int, perm os.FileMode) (io.ReadWriteCloser, error) {
	if !filepath.IsAbs(path) {
		path = filepath.Join(interp.HandlerCtx(ctx).Dir, path)
	}
	f, err := sh.policy.open(path, flag, perm)
	if err != nil && IsDenial(err) {
		sh.record(ModuleEAM, []string{"open", path}, interp.HandlerCtx(ctx).Dir, err, "")
		// A PathError is reported by the interpreter and fails only this
		// command, as a refused open does in bash.
		return nil, &os.PathError{Op: "gish", Path: path, Err: err}
	}
	return f, err
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
