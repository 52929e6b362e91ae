package gish

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/igrid/igrid/gish/confine"
	"golang.org/x/sys/unix"
)

// ChildConfig is what the SSH server hands `igrid gish` on fd 3: the
// session, the class's executables and what to run.
type ChildConfig struct {
	SessionID, User, Account, Class, Node, Home string
	Start, End                                  time.Time
	Executables                                 map[string]string
	MaxProcesses                                int
	// LimitProcesses applies MaxProcesses as RLIMIT_NPROC; only when the
	// shell runs as a dynamic account of its own (the limit is per uid).
	LimitProcesses bool
	// Command is the `ssh host cmd` command; empty means an interactive shell.
	Command string
	TTY     bool
	Term    string
	// Policy is what the shell enforces; nil means DefaultPolicy of the
	// class's executables with the home as the write area.
	Policy *Policy `json:",omitempty"`
	// SACSocket is the node agent's admission socket (SAM); empty: none.
	SACSocket string `json:",omitempty"`
	// PolicyFile is re-read before each line when it changes (Binding).
	PolicyFile string `json:",omitempty"`
	// Audit says fd 4 is the audit pipe to the SSH server.
	Audit bool `json:",omitempty"`
	// Subsystem is "sftp" for a file-transfer channel; empty for a shell.
	Subsystem string `json:",omitempty"`
	// Vars are the user's settings restored from the GSS; the shell
	// exports those KeptVar allows.
	Vars map[string]string `json:",omitempty"`
}

// configFD is the descriptor the config arrives on (ExtraFiles[0]).
const configFD = 3

// MaybeReexec must be called first in main and in TestMain: when the binary
// was started as `igrid gish` it becomes the shell and exits.
func MaybeReexec() {
	if len(os.Args) > 1 && os.Args[1] == "gish" {
		os.Exit(ChildMain())
	}
	if len(os.Args) > 1 && os.Args[1] == confine.Marker {
		os.Exit(confine.Main())
	}
}

// ChildMain is the `igrid gish` entry. It runs as the dynamic account,
// reads its configuration from fd 3, hardens the process and runs the shell.
func ChildMain() int {
	cfg, err := readChildConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	// Whatever descriptors the shell inherited (the audit pipe, or fds a
	// parent leaked) never pass to the programs it starts.
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		fmt.Fprintf(os.Stderr, "gish: close_range: %v\n", err)
		return 2
	}
	if err := harden(cfg); err != nil {
		fmt.Fprintf(os.Stderr, "gish: %v\n", err)
		return 2
	}
	sh, err := NewShell(cfg, os.Stdin, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gish: %v\n", err)
		return 2
	}
	defer sh.Close()
	if cfg.Audit {
		// Programs must not inherit the audit pipe: they could forge
		// decisions, and would keep the server's reader open.
		sh.audit = &auditor{enc: json.NewEncoder(os.NewFile(auditFD, "gish-audit"))}
	}
	if err := sh.checkLandlock(); err != nil {
		fmt.Fprintf(os.Stderr, "gish: %v\n", err)
		return 1
	}
	if cfg.Subsystem == SubsystemSFTP {
		sh.record(ModuleEAM, []string{"sftp"}, cfg.Home, nil, "landlock")
		if err := serveSFTP(sh.policy, &sh.spec, cfg.Home, stdio{}); err != nil {
			fmt.Fprintf(os.Stderr, "gish: sftp: %v\n", err)
			return 1
		}
		return 0
	}
	if cfg.Command != "" {
		st, _ := sh.Run(context.Background(), cfg.Command)
		return st
	}
	return sh.Interactive()
}

func readChildConfig() (ChildConfig, error) {
	var cfg ChildConfig
	f := os.NewFile(configFD, "gish-config")
	if f == nil {
		return cfg, ErrBadChildConfig
	}
	defer f.Close()
	if err := json.NewDecoder(f).Decode(&cfg); err != nil || cfg.SessionID == "" {
		return cfg, fmt.Errorf("%w: %v", ErrBadChildConfig, err)
	}
	return cfg, nil
}

// harden makes the shell non-dumpable (no ptrace, no core with its
// memory), sets no_new_privs (no setuid effects for anything it starts),
// applies the process limit and moves to the home.
func harden(cfg ChildConfig) error {
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("non-dumpable: %w", err)
	}
	// A superuser class's GISH starts sudo for its rules (sudo.go); every
	// other program still gets no_new_privs from its confinement thread.
	if cfg.Policy == nil || len(cfg.Policy.Sudo) == 0 {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("no_new_privs: %w", err)
		}
	}
	if cfg.LimitProcesses && cfg.MaxProcesses > 0 {
		lim := &unix.Rlimit{Cur: uint64(cfg.MaxProcesses), Max: uint64(cfg.MaxProcesses)}
		if err := unix.Setrlimit(unix.RLIMIT_NPROC, lim); err != nil {
			return fmt.Errorf("process limit: %w", err)
		}
	}
	return os.Chdir(cfg.Home)
}

// checkLandlock tells the user at login what the kernel can confine: with
// less Landlock than the policy's minimum the session stops, unless the
// policy makes Landlock optional; then programs run unconfined (still with
// no_new_privs and the process limit) and the user is told so.
func (sh *Shell) checkLandlock() error {
	ll := sh.policy.Landlock
	if ll.Off {
		return nil
	}
	abi := confine.ABI()
	if abi >= ll.MinABI {
		return nil
	}
	msg := fmt.Sprintf("this node's kernel offers Landlock ABI %d; class %s needs at least %d", abi, sh.policy.Class, ll.MinABI)
	ev := Event{Module: ModuleLandlock, Rule: RuleLandlock, Subject: "login", Reason: msg, Cwd: sh.cfg.Home}
	if !ll.Optional {
		ev.Decision = "deny"
		sh.audit.emit(ev)
		return &Denial{Subject: "login", Rule: RuleLandlock, Reason: "refused: " + msg}
	}
	ev.Decision, ev.Confined = "allow", "off"
	sh.audit.emit(ev)
	fmt.Fprintf(sh.stderr, "igrid: warning: %s; programs run without kernel confinement (the policy allows it)\r\n", msg)
	sh.spec.Off, sh.strict.Off = true, true
	sh.encodeSpecs()
	return nil
}

// stdio is the process's stdin and stdout as one stream (the SSH channel).
type stdio struct{}

func (stdio) Read(b []byte) (int, error)  { return os.Stdin.Read(b) }
func (stdio) Write(b []byte) (int, error) { return os.Stdout.Write(b) }
func (stdio) Close() error                { return os.Stdout.Close() }
