package policies

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// The library side of `igrid policy check|explain|show|diff`: each returns
// what the command prints, so that the CLI only parses flags.

// Check validates a policies directory and returns every problem (none: the
// set is valid). `igrid policy check DIR` prints them and exits non-zero.
func Check(dir string) []Problem {
	src, err := ReadDir(dir)
	if err != nil {
		return []Problem{{File: dir, Msg: err.Error()}}
	}
	if len(src) == 0 {
		return []Problem{{File: dir, Msg: "no *.yaml or *.yml class files"}}
	}
	_, err = LoadFiles(src)
	var le *LoadError
	switch {
	case errors.As(err, &le):
		return le.Problems
	case err != nil:
		return []Problem{{File: dir, Msg: err.Error()}}
	}
	return nil
}

// ExplainRequest is one `igrid policy explain` question. With Class empty,
// the user (and groups, vo) is mapped to classes first.
type ExplainRequest struct {
	Class  string
	User   string
	Groups []string
	VO     string
	Argv   []string
}

// Explanation is the answer: every decision with its rule and file.
type Explanation struct {
	Class     string
	Chain     []string
	Mapped    []string // classes the user was mapped to, when asked by user
	Argv      []string
	Decisions []Decision
	Allowed   bool
}

// Explain decides a command line and says which rule decided each part.
func Explain(s *Set, req ExplainRequest) (*Explanation, error) {
	if len(req.Argv) == 0 {
		return nil, errors.New("policies: explain needs a command (after --)")
	}
	var c *Class
	var err error
	e := &Explanation{Argv: req.Argv}
	if req.User != "" {
		e.Mapped = s.ClassesFor(req.User, req.Groups, req.VO)
		if e.Mapped == nil {
			e.Mapped = []string{}
		}
	}
	switch {
	case req.Class != "":
		var ok bool
		if c, ok = s.Class(req.Class); !ok {
			return nil, &UnknownClassError{Class: req.Class}
		}
	case req.User != "":
		if c, err = s.ForUser(req.User, req.Groups, req.VO); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("policies: explain needs --class or --user")
	}
	e.Class, e.Chain = c.Name, c.Chain
	e.Decisions = c.CheckCommand(req.Argv)
	_, denied := Denied(e.Decisions)
	e.Allowed = !denied
	return e, nil
}

func (e *Explanation) String() string {
	var b strings.Builder
	if e.Mapped != nil {
		fmt.Fprintf(&b, "user maps to: %s\n", orNone(strings.Join(e.Mapped, ", ")))
		if !contains(e.Mapped, e.Class) && !strings.Contains(e.Class, "+") {
			fmt.Fprintf(&b, "note: the user is not in class %s; answering for the class as asked\n", e.Class)
		}
	}
	fmt.Fprintf(&b, "class: %s (chain %s)\n", e.Class, strings.Join(e.Chain, " → "))
	fmt.Fprintf(&b, "command: %s\n", strings.Join(e.Argv, " "))
	for _, d := range e.Decisions {
		fmt.Fprintf(&b, "  %-5s %-7s %-20s %s\n", verdict(d.Allow), d.Action, d.Object, where(d))
	}
	if d, denied := Denied(e.Decisions); denied {
		fmt.Fprintf(&b, "verdict: DENIED (%s %s: %s)\n", d.Action, d.Object, where(d))
	} else {
		b.WriteString("verdict: ALLOWED\n")
	}
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "(no class)"
	}
	return s
}

func verdict(allow bool) string {
	if allow {
		return "allow"
	}
	return "deny"
}

func where(d Decision) string {
	if d.Rule == "" || d.File == "" {
		return d.Reason
	}
	return fmt.Sprintf("%s — %s, class %s, %s:%d", d.Reason, d.Rule, d.Class, d.File, d.Line)
}

// Defaults that hold when no class of the chain sets the value.
var defaults = map[string]string{
	"account_pool.kind":                  "normal",
	"application.user_binaries.unsigned": "deny",
	"application.sandbox.network":        "true",
}

// Show prints the merged class, each value annotated with where it came
// from and the rule that chose it.
func Show(s *Set, class string) (string, error) {
	c, ok := s.Class(class)
	if !ok {
		return "", &UnknownClassError{Class: class}
	}
	return ShowClass(c), nil
}

// ShowClass is Show for a class already at hand (e.g. from Combine).
func ShowClass(c *Class) string {
	var b strings.Builder
	fmt.Fprintf(&b, "class %s (%s)\nchain: %s\n", c.Name, c.File, strings.Join(c.Chain, " → "))
	origins := c.Origins()
	for _, k := range sortedKeys(origins) {
		o := origins[k]
		line := k
		if v, ok := c.flat[k]; ok {
			line = k + " = " + v
		}
		fmt.Fprintf(&b, "%-56s # %s %s:%d, %s", line, o.Class, o.File, o.Line, o.Rule)
		if len(o.Candidates) > 0 {
			fmt.Fprintf(&b, " of %s", strings.Join(o.Candidates, ", "))
		}
		if exe, ok := strings.CutPrefix(k, "executables: "); ok && contains(c.Account.DenyExecutables, exe) {
			b.WriteString("; but denied by account.deny_executables")
		} else if exe, ok := strings.CutPrefix(k, "account.executables: "); ok && contains(c.Account.DenyExecutables, exe) {
			b.WriteString("; but denied by account.deny_executables")
		}
		b.WriteString("\n")
	}
	for _, k := range sortedKeys(defaults) {
		if _, set := origins[k]; !set {
			fmt.Fprintf(&b, "%-56s # default\n", k+" = "+defaults[k])
		}
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// flatten is a class as key → value lines (list items have value "").
func flatten(c *Class) map[string]string {
	out := map[string]string{}
	for k := range c.Origins() {
		out[k] = c.flat[k]
	}
	return out
}

// Diff says what changes for each class between two sets.
func Diff(old, new *Set) string {
	var b strings.Builder
	names := map[string]bool{}
	for _, n := range old.Names() {
		names[n] = true
	}
	for _, n := range new.Names() {
		names[n] = true
	}
	for _, n := range sortedKeys(names) {
		oc, inOld := old.Class(n)
		nc, inNew := new.Class(n)
		switch {
		case !inOld:
			fmt.Fprintf(&b, "class %s: added (%s)\n", n, nc.File)
			continue
		case !inNew:
			fmt.Fprintf(&b, "class %s: removed\n", n)
			continue
		}
		if lines := diffClass(flatten(oc), flatten(nc)); len(lines) > 0 {
			fmt.Fprintf(&b, "class %s:\n%s", n, strings.Join(lines, ""))
		}
	}
	if b.Len() == 0 {
		return "no changes\n"
	}
	return b.String()
}

func diffClass(o, n map[string]string) []string {
	keys := map[string]bool{}
	for k := range o {
		keys[k] = true
	}
	for k := range n {
		keys[k] = true
	}
	var out []string
	for _, k := range sortedKeys(keys) {
		ov, inO := o[k]
		nv, inN := n[k]
		switch {
		case !inO:
			out = append(out, "  + "+kv(k, nv)+"\n")
		case !inN:
			out = append(out, "  - "+kv(k, ov)+"\n")
		case ov != nv:
			out = append(out, fmt.Sprintf("  ~ %s: %s → %s\n", k, ov, nv))
		}
	}
	return out
}

func kv(k, v string) string {
	if v == "" {
		return k
	}
	return k + " = " + v
}

// DiffDirs loads two directories and diffs them.
func DiffDirs(oldDir, newDir string) (string, error) {
	o, err := LoadDir(oldDir)
	if err != nil {
		return "", fmt.Errorf("%s: %w", oldDir, err)
	}
	n, err := LoadDir(newDir)
	if err != nil {
		return "", fmt.Errorf("%s: %w", newDir, err)
	}
	return Diff(o, n), nil
}
