package gish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/igrid/igrid/gish/confine"
	"github.com/igrid/igrid/gish/lineedit"
	"github.com/igrid/igrid/sac"
	"golang.org/x/term"
	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
)

// Shell is one GISH: an mvdan/sh interpreter whose every command and
// redirection passes the session's policy.
type Shell struct {
	cfg    ChildConfig
	policy *Policy
	runner *interp.Runner
	stdin  *os.File
	stdout io.Writer
	stderr io.Writer
	now    func() time.Time
	denied bool // a hook denied something during the current Run

	spec, strict confine.Spec // programs' confinement; unsigned binaries'
	audit        *auditor     // nil: decisions are not reported

	polStamp policyStamp // of cfg.PolicyFile as last read

	sacOnce sync.Once
	sac     *sac.Client // one connection to the SAC for the session; nil: no SAM

	rulesMu sync.Mutex       // pipelines start programs concurrently
	rules   *confine.Ruleset // spec compiled; nil until first use
	jobs    jobTable
	jc      *jobControl
	// lineCancel ends the running line (a Ctrl-C that killed its job).
	lineCancel context.CancelFunc
	bgSpans    [][2]uint // the running line's `… &` statements

	// lastVars are the user's settings as last kept (saveVars).
	lastVars map[string]string
}

// NewShell builds the interpreter for cfg reading from stdin.
func NewShell(cfg ChildConfig, stdin *os.File, stdout, stderr io.Writer) (*Shell, error) {
	sh := &Shell{cfg: cfg, stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now, policy: cfg.Policy}
	if sh.policy == nil {
		sh.policy = DefaultPolicy(cfg.Class, cfg.Executables, cfg.Home)
	} else if err := sh.policy.prepare(); err != nil {
		return nil, err
	}
	if cfg.LimitProcesses && cfg.MaxProcesses > 0 {
		sh.policy.MaxProcesses = cfg.MaxProcesses
	}
	sh.buildSpecs()
	sh.jc = newJobControl(cfg.TTY && cfg.Command == "" && cfg.Subsystem == "", stdin)
	r, err := interp.New(
		interp.StdIO(stdin, stdout, stderr),
		interp.Dir(cfg.Home),
		interp.Env(expand.ListEnviron(sh.initialEnv()...)),
		interp.CallHandler(sh.callHandler),
		interp.ExecHandlers(sh.execHandler),
		interp.OpenHandler(sh.openHandler),
		interp.ReadDirHandler2(sh.readDirHandler),
		interp.StatHandler(sh.statHandler),
	)
	if err != nil {
		return nil, err
	}
	sh.runner = r
	return sh, nil
}

func (sh *Shell) initialEnv() []string {
	c := sh.cfg
	term := c.Term
	if term == "" {
		term = "dumb"
	}
	base := []string{"HOME=" + c.Home, "USER=" + c.Account, "LOGNAME=" + c.Account,
		"PATH=/usr/local/bin:/usr/bin:/bin", "TERM=" + term, "LANG=C.UTF-8",
		"IGRID_SESSION=" + c.SessionID, "IGRID_NODE=" + c.Node,
		// Temporary files go where the class may write (gcc, sort, vim).
		"TMPDIR=" + c.Home}
	// The user's restored settings last: a kept LANG replaces the default.
	return append(base, sh.initialVars()...)
}

// Run parses, checks and runs one line or -c command. It returns the exit
// status and whether the shell should exit.
func (sh *Shell) Run(ctx context.Context, line string) (int, bool) {
	sh.refreshPolicy()
	sh.jc.newLine()
	f, err := Parse(line)
	if err == nil {
		err = sh.policy.CheckLine(f, sh.runner.Dir)
	}
	if err != nil {
		sh.record(ModuleEAM, []string{firstLine(line)}, sh.runner.Dir, err, "")
		fmt.Fprintf(sh.stderr, "gish: %v\n", err)
		return 126, false
	}
	sh.denied = false
	sh.bgSpans = backgroundSpans(f)
	err = sh.runner.Run(ctx, f)
	sh.saveVars()
	st, isStatus := interp.IsExitStatus(err)
	if errors.Is(err, errHalted) {
		return 126, false
	}
	if err != nil && !isStatus {
		if !errors.Is(err, context.Canceled) {
			fmt.Fprintf(sh.stderr, "gish: %v\n", err)
		}
		st = 1
	}
	// A denial halts the line; only `exit` (or end of a -c command) ends
	// the shell.
	return int(st), sh.runner.Exited() && !sh.denied
}

// Interactive runs the prompt loop until exit, end of input or the end of
// the session. On a terminal lines are read with the line editor (history
// in the home, completion of allowed commands and readable paths). Ctrl-C
// stops the running command, not the shell.
func (sh *Shell) Interactive() int {
	intr := make(chan os.Signal, 4)
	signal.Notify(intr, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTSTP)
	defer signal.Stop(intr)
	fmt.Fprintf(sh.stdout, "Welcome to GISH on %s, class %s. `help` lists what you may run.\r\n", sh.cfg.Node, sh.cfg.Class)
	read := sh.lineReader()
	status := 0
	for {
		line, err := read(sh.prompt())
		if errors.Is(err, lineedit.ErrInterrupt) {
			continue
		}
		if err != nil {
			return status
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		drainSignals(intr) // a Ctrl-C typed at the prompt is not for this line
		// The context ends only on Ctrl-C during the line, so that what
		// the line left running with `&` keeps running after it.
		ctx, cancel := context.WithCancel(context.Background())
		sh.lineCancel = cancel
		lineDone := make(chan struct{})
		go func() {
			select {
			case <-intr:
				cancel()
			case <-lineDone:
			}
		}()
		var exit bool
		status, exit = sh.Run(ctx, line)
		close(lineDone)
		sh.jc.take() // the prompt is GISH's again, whatever the line left
		if exit {
			cancel()
			return status
		}
	}
}

func drainSignals(ch chan os.Signal) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// lineReader is the line editor on a terminal, plain reads otherwise.
func (sh *Shell) lineReader() func(prompt string) (string, error) {
	if sh.cfg.TTY && term.IsTerminal(int(sh.stdin.Fd())) {
		ed := &lineedit.Editor{In: sh.stdin, Out: sh.stdout, Complete: sh.completer,
			History: sh.openHistory(), MaxLine: MaxLine}
		return ed.ReadLine
	}
	return func(prompt string) (string, error) {
		fmt.Fprint(sh.stdout, prompt)
		line, err := readLine(sh.stdin)
		if err != nil {
			fmt.Fprint(sh.stdout, "\r\n")
		}
		return line, err
	}
}

// readLine reads one line without buffering past it, so that programs the
// line starts read the rest of the input themselves.
func readLine(f *os.File) (string, error) {
	var b []byte
	one := make([]byte, 1)
	for len(b) <= MaxLine {
		n, err := f.Read(one)
		if n == 1 {
			if one[0] == '\n' {
				return string(b), nil
			}
			b = append(b, one[0])
			continue
		}
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			if len(b) > 0 {
				return string(b), nil
			}
			return "", err
		}
	}
	return string(b), nil
}

func (sh *Shell) prompt() string {
	return fmt.Sprintf("%s@%s:%s [%s left]$ ", sh.cfg.User, sh.cfg.Node,
		shortHome(sh.runner.Dir, sh.cfg.Home), sh.left())
}

// left is the time left in the session, rounded for a prompt.
func (sh *Shell) left() string {
	d := sh.cfg.End.Sub(sh.now())
	switch {
	case d <= 0:
		return "0m"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// commands are GISH's own commands, answered inside the shell.
func (sh *Shell) commands() map[string]func(io.Writer, []string) error {
	return map[string]func(io.Writer, []string) error{
		"help":   sh.help,
		"status": sh.status,
		"check":  sh.check,
	}
}

func (sh *Shell) help(w io.Writer, _ []string) error {
	names := make([]string, 0, len(sh.cfg.Executables))
	for n := range sh.cfg.Executables {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "Class %s may run: %s\n", sh.cfg.Class, strings.Join(names, " "))
	fmt.Fprintln(w, "Shell: pipelines, ;, &&, ||, $(…), variables, if/for/while/case, functions, redirections inside your home.")
	fmt.Fprintln(w, "GISH commands: help, status, check cpu|memory|storage, exit.")
	fmt.Fprintln(w, "Keys: ←/→, Ctrl-A/E/K/U/W, ↑/↓ history, Tab completes commands and paths, Ctrl-C stops the running command.")
	return nil
}

func (sh *Shell) status(w io.Writer, _ []string) error {
	fmt.Fprintf(w, "session %s on %s as %s (class %s)\n", sh.cfg.SessionID, sh.cfg.Node, sh.cfg.Account, sh.cfg.Class)
	fmt.Fprintf(w, "window: %s – %s, %s left\n", sh.cfg.Start.UTC().Format(time.RFC3339),
		sh.cfg.End.UTC().Format(time.RFC3339), sh.left())
	procs, cpu, disk := sh.usage()
	limit := "unlimited"
	if sh.cfg.MaxProcesses > 0 {
		limit = fmt.Sprint(sh.cfg.MaxProcesses)
	}
	fmt.Fprintf(w, "processes: %d of %s\n", procs, limit)
	fmt.Fprintf(w, "cpu: %.1f s used by this shell's processes\n", cpu)
	fmt.Fprintf(w, "disk: %.1f MiB in %s\n", float64(disk)/(1<<20), sh.cfg.Home)
	if abi := confine.ABI(); sh.policy.Landlock.Off || sh.spec.Off {
		fmt.Fprintf(w, "confinement: off (kernel Landlock ABI %d)\n", abi)
	} else {
		fmt.Fprintf(w, "confinement: Landlock ABI %d\n", abi)
	}
	return nil
}
