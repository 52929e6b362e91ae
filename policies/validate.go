package policies

import (
	"encoding/base64"
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/igrid/igrid/internal/proto"
)

var (
	envRe     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*\*?$`)
	forwardRe = regexp.MustCompile(`^[A-Za-z0-9.*:\[\]-]+:(\*|[0-9]{1,5})$`)
	appIDRe   = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
)

// checkValues validates one file's values on their own (inheritance is
// checked in build).
func checkValues(f *file) []Problem {
	var probs []Problem
	add := func(line int, key, msg string, a ...any) {
		probs = append(probs, Problem{File: f.path, Line: line, Key: key, Msg: fmt.Sprintf(msg, a...)})
	}
	if c, ok := f.vals["class"]; !ok {
		add(1, "class", "missing: every file names its class")
	} else if !proto.ValidName(c.s) {
		add(c.line, "class", "%q is not a class name (letters, digits, . _ + -)", c.s)
	}
	if _, ok := f.vals["account_pool.prefix"]; !ok {
		for _, k := range []string{"users", "groups", "vo"} {
			if l := f.lists[k]; len(l) > 0 {
				add(l[0].line, k, "users are mapped to this class, so it needs an account_pool with a prefix")
				break
			}
		}
	}
	if p, ok := f.vals["account_pool.prefix"]; ok && !prefixRe.MatchString(p.s) {
		add(p.line, "account_pool.prefix", "%q must be 1-12 lower-case letters and digits, starting with a letter", p.s)
	}
	for _, key := range []string{"executables", "account.executables", "account.deny_executables"} {
		for _, e := range f.lists[key] {
			if !validExecutable(e.v) {
				add(e.line, key, "%q must be a command name or a clean absolute path (globs allowed in paths)", e.v)
			}
		}
	}
	for _, key := range []string{"account.files.read", "account.files.write", "account.files.deny"} {
		for _, e := range f.lists[key] {
			if !validPathPattern(e.v) {
				add(e.line, key, "%q must be an absolute path pattern or start with ~/", e.v)
			}
		}
	}
	for _, e := range f.lists["account.env"] {
		if !envRe.MatchString(e.v) {
			add(e.line, "account.env", "%q is not an environment variable name (a trailing * is allowed)", e.v)
		}
	}
	for _, e := range f.lists["account.forward"] {
		if !forwardRe.MatchString(e.v) {
			add(e.line, "account.forward", "%q must be host:port (host may use *, port may be *)", e.v)
		}
	}
	for _, e := range f.lists["application.user_binaries.trusted_signers"] {
		if _, err := ParseSigner(e.v); err != nil {
			add(e.line, "application.user_binaries.trusted_signers", "%v", err)
		}
	}
	for key, items := range f.lists {
		for _, e := range items {
			if _, err := path.Match(e.v, ""); err != nil {
				add(e.line, key, "%q is not a valid glob: %v", e.v, err)
			}
		}
	}
	for _, prog := range f.argOrder {
		a := f.args[prog]
		for _, l := range [][]item{a.allowOptions, a.denyOptions, a.allowPatterns, a.denyPatterns} {
			for _, e := range l {
				if _, err := path.Match(e.v, ""); err != nil {
					add(e.line, keyArguments+"."+prog, "%q is not a valid glob: %v", e.v, err)
				}
			}
		}
	}
	for _, prog := range f.argOrder {
		if !validExecutable(prog) || strings.ContainsAny(prog, "*?[") {
			add(f.args[prog].line, keyArguments+"."+prog, "%q must be a command name or a clean absolute path", prog)
		}
	}
	for _, a := range f.apps {
		if a.ID != "" && !appIDRe.MatchString(a.ID) {
			add(a.Line, keyInstalled+".id", "%q must be lower-case letters, digits, . _ -", a.ID)
		}
	}
	return probs
}

func validExecutable(e string) bool {
	if filepath.IsAbs(e) {
		return filepath.Clean(e) == e
	}
	return e != "" && filepath.Base(e) == e && e != "." && e != ".." && !strings.ContainsAny(e, "*?[")
}

func validPathPattern(p string) bool {
	if p == "~" {
		return true
	}
	if strings.HasPrefix(p, "~/") {
		p = p[1:]
	}
	return filepath.IsAbs(p) && !strings.Contains(p, "/../") && !strings.HasSuffix(p, "/..")
}

// ParseSigner decodes a trusted signer as written in policy files:
// "ed25519:" followed by the standard base64 of the 32-byte public key.
func ParseSigner(s string) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, "ed25519:")
	if !ok {
		return nil, fmt.Errorf("%q must start with \"ed25519:\"", s)
	}
	b, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("%q is not the base64 of a 32-byte ed25519 public key", s)
	}
	return b, nil
}
