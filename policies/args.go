package policies

import (
	"path"
	"path/filepath"
	"strings"
)

// ReasonNotListed is the reason when a program's allow list does not name an
// option or argument.
const ReasonNotListed = "not in the program's allow list"

// CheckCommand decides a whole command line for the class: the executable
// (argv[0]), then every option and operand against the program's argument
// rules. It returns every decision made, in order; the command may run only
// if all of them allow (see Denied).
func (c *Class) CheckCommand(argv []string) []Decision {
	if len(argv) == 0 {
		return nil
	}
	out := []Decision{c.Decide(ActExec, argv[0])}
	prog := filepath.Base(argv[0])
	rules, ok := c.Account.Arguments[prog]
	if !ok {
		rules, ok = c.Account.Arguments[argv[0]]
		prog = argv[0]
	}
	if !ok {
		return out
	}
	key := keyArguments + "." + prog + "."
	operands := false
	for _, a := range argv[1:] {
		switch {
		case operands || a == "-" || !(strings.HasPrefix(a, "-") || strings.HasPrefix(a, "+")):
			out = append(out, about(c.operand(key, rules, a), ActOperand, a))
		case a == "--":
			operands = true
		default:
			out = append(out, c.option(key, rules, a)...)
		}
	}
	return out
}

// Denied returns the first denial among ds, if any.
func Denied(ds []Decision) (Decision, bool) {
	for _, d := range ds {
		if !d.Allow {
			return d, true
		}
	}
	return Decision{}, false
}

// Actions of CheckCommand's decisions on arguments.
const (
	ActOption  = "option"
	ActOperand = "operand"
)

func (c *Class) ruleDecision(key, item string, allow bool, reason string) Decision {
	o := c.origins[key+": "+item]
	return Decision{Allow: allow, Rule: key + ": " + item, File: o.File, Line: o.Line, Class: o.Class, Reason: reason}
}

func about(d Decision, act, obj string) Decision {
	d.Action, d.Object = act, obj
	return d
}

// option checks one option argument. GNU long options may be abbreviated,
// so "--checkp" is treated as "--checkpoint"; short options may be bundled,
// so "-Ic" is "-I" and "-c". Deny lists may hold globs ("+*" for vim +cmd).
func (c *Class) option(key string, r ArgRules, a string) []Decision {
	name := a
	if i := strings.IndexByte(a, '='); i > 0 && strings.HasPrefix(a, "--") {
		name = a[:i]
	}
	if d, ok := c.matchOption(key+"deny_options", r.DenyOptions, name, false, ReasonDenied); ok {
		return []Decision{about(d, ActOption, name)}
	}
	if strings.HasPrefix(name, "--") || strings.HasPrefix(name, "+") || len(name) <= 2 {
		return []Decision{about(c.allowOption(key, r, name), ActOption, name)}
	}
	// A single dash with several letters: an exact single-dash long option
	// (find -exec) or a bundle of short options (python3 -Ic).
	if d, ok := c.matchOption(key+"allow_options", r.AllowOptions, name, true, ReasonAllowed); ok {
		return []Decision{about(d, ActOption, name)}
	}
	var out []Decision
	for _, ch := range name[1:] {
		short := "-" + string(ch)
		if d, ok := c.matchOption(key+"deny_options", r.DenyOptions, short, false, ReasonDenied); ok {
			return append(out, about(d, ActOption, short))
		}
		out = append(out, about(c.allowOption(key, r, short), ActOption, short))
	}
	return out
}

func (c *Class) allowOption(key string, r ArgRules, name string) Decision {
	if len(r.AllowOptions) == 0 {
		return Decision{Allow: true, Class: c.Name, Reason: "no allow list for this program's options"}
	}
	if d, ok := c.matchOption(key+"allow_options", r.AllowOptions, name, true, ReasonAllowed); ok {
		return d
	}
	o := c.origins[key+"allow_options: "+r.AllowOptions[0]]
	return Decision{Rule: key + "allow_options", File: o.File, Line: o.Line, Class: o.Class, Reason: ReasonNotListed}
}

// matchOption finds name in list: exactly, by glob, or (long options) as
// an abbreviation of a listed option.
func (c *Class) matchOption(key string, list []string, name string, allow bool, reason string) (Decision, bool) {
	for _, o := range list {
		ok, _ := path.Match(o, name)
		abbrev := strings.HasPrefix(name, "--") && len(name) > 3 && strings.HasPrefix(o, name)
		if ok || o == name || abbrev {
			return c.ruleDecision(key, o, allow, reason), true
		}
	}
	return Decision{}, false
}

// operand checks a non-option argument against the patterns.
func (c *Class) operand(key string, r ArgRules, a string) Decision {
	for _, p := range r.DenyPatterns {
		if patMatch(p, a) {
			return c.ruleDecision(key+"deny_patterns", p, false, ReasonDenied)
		}
	}
	if len(r.AllowPatterns) == 0 {
		return Decision{Allow: true, Class: c.Name, Reason: "no allow list for this program's arguments"}
	}
	for _, p := range r.AllowPatterns {
		if patMatch(p, a) {
			return c.ruleDecision(key+"allow_patterns", p, true, ReasonAllowed)
		}
	}
	o := c.origins[key+"allow_patterns: "+r.AllowPatterns[0]]
	return Decision{Rule: key + "allow_patterns", File: o.File, Line: o.Line, Class: o.Class, Reason: ReasonNotListed}
}

func patMatch(p, a string) bool {
	if strings.Contains(p, "/") {
		return globPath(p, a)
	}
	ok, _ := path.Match(p, a)
	return ok
}
