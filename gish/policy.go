package gish

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Policy is what GISH enforces for one session: the class's executables
// (name → real path) and the areas it may write.
type Policy struct {
	Class       string
	Executables map[string]string
	WriteAreas  []string // absolute, symlink-free directories
	byReal      map[string]string
}

// NewPolicy indexes a class's executables by their real paths.
func NewPolicy(class string, exes map[string]string, writeAreas []string) *Policy {
	p := &Policy{Class: class, Executables: exes, byReal: map[string]string{}}
	for name, real := range exes {
		p.byReal[real] = name
	}
	for _, a := range writeAreas {
		if r, err := filepath.EvalSymlinks(a); err == nil {
			p.WriteAreas = append(p.WriteAreas, r)
		}
	}
	return p
}

// denyingBuiltins are builtins that would run code the checks cannot see
// (eval, source, trap), replace or bypass command lookup (exec, command,
// builtin), or change how the shell itself behaves (set, enable, alias).
var denyingBuiltins = map[string]string{
	"eval": "runs a string as code", "exec": "replaces the shell", "source": "runs a file as code",
	".": "runs a file as code", "command": "bypasses command lookup", "builtin": "bypasses command lookup",
	"trap": "runs code on signals", "set": "changes shell options", "enable": "changes builtins",
	"alias": "renames commands", "unalias": "renames commands", "hash": "changes command lookup",
	"fc": "re-runs history", "coproc": "starts a coprocess", "mapfile": "", "readarray": "",
	"ulimit": "changes resource limits", "umask": "changes file modes", "kill": "signals processes",
	"wait": "", "disown": "", "suspend": "", "times": "", "caller": "", "getopts": "",
	"dirs": "", "pushd": "", "popd": "", "shopt": "changes shell options",
}

// CheckCommand decides whether name, the first word of a simple command
// after expansion, may run with dir as the working directory. It returns the
// real path to execute for programs, "" for allowed builtins.
func (p *Policy) CheckCommand(name, dir string) (string, error) {
	if why, ok := denyingBuiltins[name]; ok {
		if why == "" {
			why = "is not offered in GISH"
		} else {
			why = "is a builtin that " + why
		}
		return "", &Denial{Subject: name, Rule: RuleBuiltins, Reason: why}
	}
	if isSafeBuiltin(name) {
		return "", nil
	}
	if !strings.Contains(name, "/") {
		if real, ok := p.Executables[name]; ok {
			return real, nil
		}
		return "", &Denial{Subject: name, Rule: RuleExecutables, Reason: "is not allowed for class " + p.Class}
	}
	path := name
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	real, err := filepath.EvalSymlinks(path)
	if err == nil {
		if _, ok := p.byReal[real]; ok {
			return real, nil
		}
	}
	return "", &Denial{Subject: name, Rule: RulePath,
		Reason: fmt.Sprintf("does not resolve to an executable allowed for class %s", p.Class)}
}

// safeBuiltins run inside GISH and can neither start programs nor open
// files behind the checks (redirections go through the open handler).
var safeBuiltins = map[string]bool{
	"echo": true, "printf": true, "cd": true, "pwd": true, "exit": true, "true": true,
	"false": true, "test": true, "[": true, ":": true, "read": true, "shift": true,
	"unset": true, "export": true, "local": true, "declare": true, "typeset": true,
	"readonly": true, "let": true, "type": true, "return": true, "break": true,
	"continue": true, "help": true, "status": true,
}

func isSafeBuiltin(name string) bool { return safeBuiltins[name] }

// CheckWrite decides whether a redirection may open path for writing.
func (p *Policy) CheckWrite(path string) error {
	if path == "/dev/null" {
		return nil
	}
	real, err := resolveForWrite(path)
	if err == nil {
		for _, a := range p.WriteAreas {
			if real == a || strings.HasPrefix(real, a+"/") {
				return nil
			}
		}
	}
	return &Denial{Subject: path, Rule: RuleWrite, Reason: "is outside the areas class " + p.Class + " may write"}
}

// resolveForWrite resolves path as the kernel would when creating it: the
// file itself if it exists (symlinks followed), else its parent directory.
func resolveForWrite(path string) (string, error) {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		return real, nil
	}
	if _, err := os.Lstat(path); err == nil {
		// A dangling symlink: writing would create its target elsewhere.
		return "", fmt.Errorf("%s is a dangling symlink", path)
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(path))
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.Base(path)), nil
}
