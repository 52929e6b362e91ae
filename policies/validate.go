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

// itemCheck validates the items of some list keys; msg gets the item.
type itemCheck struct {
	keys []string
	ok   func(string) bool
	msg  string
}

var itemChecks = []itemCheck{
	{[]string{"executables", "account.executables", "account.deny_executables"}, validExecutable,
		"%q must be a command name or a clean absolute path (globs allowed in paths)"},
	{[]string{"account.files.read", "account.files.write", "account.files.deny"}, validPathPattern,
		"%q must be an absolute path pattern or start with ~/"},
	{[]string{"account.env"}, envRe.MatchString, "%q is not an environment variable name (a trailing * is allowed)"},
	{[]string{"account.forward"}, forwardRe.MatchString, "%q must be host:port (host may use *, port may be *)"},
	{[]string{"account_pool.sudo"}, validSudoCommand,
		"%q must be an absolute path with plain fixed arguments (no , : = \\ # quotes ! wildcards %% or tabs)"},
}

// validSudoCommand is a sudo rule the node can write into a sudoers
// drop-in as is: an absolute program path and literal arguments, nothing
// sudoers would read as an alias, a wildcard, a negation or an escape.
func validSudoCommand(c string) bool {
	return strings.HasPrefix(c, "/") && c == strings.TrimSpace(c) && !strings.ContainsAny(c, ",:=\\#\"'!*?[]\n\r\t%")
}

type problems struct {
	f     *file
	probs []Problem
}

func (p *problems) add(line int, key, msg string, a ...any) {
	p.probs = append(p.probs, Problem{File: p.f.path, Line: line, Key: key, Msg: fmt.Sprintf(msg, a...)})
}

// checkValues validates one file's values on their own (inheritance is
// checked in build).
func checkValues(f *file) []Problem {
	p := &problems{f: f}
	p.header()
	for _, c := range itemChecks {
		for _, key := range c.keys {
			for _, e := range f.lists[key] {
				if !c.ok(e.v) {
					p.add(e.line, key, c.msg, e.v)
				}
			}
		}
	}
	for _, e := range f.lists["application.user_binaries.trusted_signers"] {
		if _, err := ParseSigner(e.v); err != nil {
			p.add(e.line, "application.user_binaries.trusted_signers", "%v", err)
		}
	}
	for key, items := range f.lists {
		p.globs(key, items)
	}
	for _, prog := range f.argOrder {
		a := f.args[prog]
		if !validExecutable(prog) || strings.ContainsAny(prog, "*?[") {
			p.add(a.line, keyArguments+"."+prog, "%q must be a command name or a clean absolute path", prog)
		}
		for _, l := range [][]item{a.allowOptions, a.denyOptions, a.allowPatterns, a.denyPatterns} {
			p.globs(keyArguments+"."+prog, l)
		}
	}
	for _, a := range f.apps {
		if a.ID != "" && !appIDRe.MatchString(a.ID) {
			p.add(a.Line, keyInstalled+".id", "%q must be lower-case letters, digits, . _ -", a.ID)
		}
	}
	return p.probs
}

// header checks the class name and the account pool.
func (p *problems) header() {
	f := p.f
	if c, ok := f.vals["class"]; !ok {
		p.add(1, "class", "missing: every file names its class")
	} else if !proto.ValidName(c.s) {
		p.add(c.line, "class", "%q is not a class name (letters, digits, . _ + -)", c.s)
	}
	prefix, hasPool := f.vals["account_pool.prefix"]
	if hasPool && !prefixRe.MatchString(prefix.s) {
		p.add(prefix.line, "account_pool.prefix", "%q must be 1-12 lower-case letters and digits, starting with a letter", prefix.s)
	}
	p.sudo()
	if hasPool {
		return
	}
	for _, k := range []string{"users", "groups", "vo"} {
		if l := f.lists[k]; len(l) > 0 {
			p.add(l[0].line, k, "users are mapped to this class, so it needs an account_pool with a prefix")
			return
		}
	}
}

// sudo checks that sudo rules come only with kind superuser. A superuser
// pool without rules is valid — its accounts may run nothing as root and
// no sudoers drop-in is written — so that policy files written before the
// rules existed still load (a policy change must never lose a class).
func (p *problems) sudo() {
	f := p.f
	kind, rules := f.vals["account_pool.kind"], f.lists["account_pool.sudo"]
	if kind.s != "superuser" && len(rules) > 0 {
		p.add(rules[0].line, "account_pool.sudo", "sudo rules need account_pool.kind: superuser")
	}
}

// globs reports items that are not valid glob patterns.
func (p *problems) globs(key string, items []item) {
	for _, e := range items {
		if _, err := path.Match(e.v, ""); err != nil {
			p.add(e.line, key, "%q is not a valid glob: %v", e.v, err)
		}
	}
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
