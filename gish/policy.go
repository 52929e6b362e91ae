package gish

import (
	"crypto/ed25519"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
)

// Unsigned modes: what GISH does with a user binary that carries no valid
// signature from a trusted signer.
const (
	UnsignedDeny    = "deny"    // refuse it (the default)
	UnsignedConfine = "confine" // run it under the stricter confinement
)

// Policy is what GISH enforces for one session. It travels to the shell as
// JSON inside ChildConfig; NewPolicy / DefaultPolicy build one and index it.
type Policy struct {
	Class string
	// Executables maps each allowed command name to its real absolute path.
	Executables map[string]string
	// Programs holds the argument rules of an executable, by its name in
	// Executables. A program without rules takes any argument (the file
	// areas and Landlock still hold).
	Programs map[string]*ArgRule `json:",omitempty"`
	// ReadAreas may be read (not executed); WriteAreas may be read and
	// written. Absolute; symlinks are resolved when the policy is indexed.
	ReadAreas, WriteAreas []string
	// DenyFiles are absolute path patterns refused for reading and writing
	// even inside an area ("DIR/**": everything below DIR); EAM enforces
	// them (Landlock areas cannot carve holes).
	DenyFiles []string `json:",omitempty"`
	// ExecHelpers are further files the allowed programs may execve (a
	// compiler's cc1, as, ld), never named on the command line.
	ExecHelpers []string `json:",omitempty"`
	// Env names the extra variables programs may inherit ("LC_*" is a
	// prefix pattern); the fixed base list always passes.
	Env []string `json:",omitempty"`
	// TrustedSigners are the ed25519 keys whose signatures make a user
	// binary runnable.
	TrustedSigners []ed25519.PublicKey `json:",omitempty"`
	// Unsigned is UnsignedDeny ("" means deny) or UnsignedConfine.
	Unsigned string `json:",omitempty"`
	// Landlock is the kernel confinement requirement.
	Landlock LandlockPolicy
	// Sudo are a superuser class's sudo rules (absolute path and literal
	// arguments, see sudo.go): `sudo [-n] RULE` runs through a real sudo.
	Sudo []string `json:",omitempty"`
	// MaxProcesses is RLIMIT_NPROC for programs (0: none). Set by the shell
	// from the session when it runs as a dynamic account of its own.
	MaxProcesses int `json:",omitempty"`

	byReal  map[string]string
	others  sync.Map // command name → command, for otherName
	areaFDs sync.Map // area directory → O_PATH fd, for beneath
}

// LandlockPolicy says how much kernel confinement a class needs.
type LandlockPolicy struct {
	// MinABI is the lowest Landlock ABI accepted (default 1).
	MinABI int `json:",omitempty"`
	// Optional lets a session go on, unconfined, on a kernel without
	// (enough) Landlock; the user is told at login. Default: required.
	Optional bool `json:",omitempty"`
	// Off disables Landlock entirely (control cases in tests, or a node
	// where it is known to be missing and the class accepts that).
	Off bool `json:",omitempty"`
	// Helper confines each program in a re-exec'd helper (`igrid
	// gish-exec`) instead of a restricted thread of GISH: slower, same
	// domain; for kernels or runtimes where per-thread domains are unwanted.
	Helper bool `json:",omitempty"`
}

// NewPolicy is the minimal policy: the executables without argument rules,
// writeAreas as the only write areas and the system's shared files readable.
func NewPolicy(class string, exes map[string]string, writeAreas []string) *Policy {
	p := &Policy{Class: class, Executables: exes, WriteAreas: writeAreas, ReadAreas: SystemReadAreas()}
	p.prepare() // no rules to compile
	return p
}

// index resolves the areas and indexes the executables by real path.
func (p *Policy) index() {
	p.byReal = map[string]string{}
	for name, real := range p.Executables {
		if cur, ok := p.byReal[real]; !ok || name < cur {
			p.byReal[real] = name
		}
	}
	p.ReadAreas = realDirs(p.ReadAreas)
	p.WriteAreas = realDirs(p.WriteAreas)
	if p.Landlock.MinABI == 0 {
		p.Landlock.MinABI = 1
	}
}

func realDirs(in []string) []string {
	var out []string
	for _, a := range in {
		if r, err := filepath.EvalSymlinks(a); err == nil {
			out = append(out, r)
		}
	}
	return out
}

// CheckCommand decides whether name, the first word of a simple command
// after expansion, may run with dir as the working directory. It returns the
// real path to execute for programs, "" for allowed builtins.
func (p *Policy) CheckCommand(name, dir string) (string, error) {
	c, err := p.resolveCommand(name, dir)
	if err == nil && c.user {
		_, err = p.checkUserBinary(name, c.real)
	}
	return c.real, err
}

// command is a resolved command: the real path to run and the name of the
// allowed executable it is (whose rules apply); user marks a user binary.
type command struct {
	real, name string
	user       bool
}

func (p *Policy) resolveCommand(name, dir string) (command, error) {
	if why, ok := denyingBuiltins[name]; ok {
		if why == "" {
			why = "is not offered in GISH"
		} else {
			why = "is a builtin that " + why
		}
		return command{}, &Denial{Subject: name, Rule: RuleBuiltins, Reason: why}
	}
	if isSafeBuiltin(name) {
		return command{}, nil
	}
	if name == "sudo" && len(p.Sudo) > 0 {
		return command{real: sudoPath, name: "sudo"}, nil // its rules: checkSudo
	}
	if !strings.Contains(name, "/") {
		if real, ok := p.Executables[name]; ok {
			return command{real: real, name: name}, nil
		}
		if other, ok := p.otherName(name); ok {
			return other, nil
		}
		return command{}, &Denial{Subject: name, Rule: RuleExecutables, Reason: "is not allowed for class " + p.Class}
	}
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	real, err := kernelPath(path)
	if err == nil {
		if n, ok := p.byReal[real]; ok {
			return command{real: real, name: n}, nil
		}
		if _, mine := within(real, p.WriteAreas); mine && isUserBinary(real) {
			return command{real: real, name: name, user: true}, nil
		}
	}
	return command{}, &Denial{Subject: name, Rule: RulePath,
		Reason: fmt.Sprintf("does not resolve to an executable allowed for class %s", p.Class)}
}

// otherName finds name in the system path: if it is another name of an
// allowed program (ex and view for vim, python3.11 for python3) it runs as
// that program, under its rules and with its name as argv[0], so that a
// multi-call binary cannot become something else by its name.
func (p *Policy) otherName(name string) (command, bool) {
	if c, ok := p.others.Load(name); ok {
		cmd := c.(command)
		return cmd, cmd.real != ""
	}
	c, ok := p.lookupOther(name)
	p.others.Store(name, c)
	return c, ok
}

// lookupOther is otherName without the cache (names of system programs
// do not change during a session; the kernel checks the exec anyway).
func (p *Policy) lookupOther(name string) (command, bool) {
	for _, d := range []string{"/usr/local/bin", "/usr/bin", "/bin"} {
		real, err := filepath.EvalSymlinks(filepath.Join(d, name))
		if err != nil {
			continue
		}
		if n, ok := p.byReal[real]; ok {
			return command{real: real, name: n}, true
		}
	}
	return command{}, false
}
