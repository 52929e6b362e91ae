package policies

import (
	"path"
	"path/filepath"
	"strings"
)

// The actions a rule governs.
const (
	ActExec    = "exec"    // object: a command name or an absolute path
	ActRead    = "read"    // object: an absolute path, or ~/… relative to the account's home
	ActWrite   = "write"   // object: as for read
	ActForward = "forward" // object: host:port
	ActEnv     = "env"     // object: an environment variable name

	actReadWrite = "read+write" // files.deny: one rule, both actions
	effAllow     = "allow"
	effDeny      = "deny"
)

// Reasons carried by a Decision.
const (
	ReasonAllowed      = "allowed by rule"
	ReasonDenied       = "denied by rule"
	ReasonNoRule       = "no rule allows it"
	ReasonUnknownClass = "unknown class"
)

// Decision is the answer to one question, with the rule that decided.
type Decision struct {
	Allow bool
	// Action and Object repeat the question.
	Action, Object string
	// Rule is the deciding rule as written: "key: item", e.g.
	// "account.deny_executables: bash". Empty when no rule matched.
	Rule string
	// File and Line locate the rule; Class is the class that holds it (the
	// asked class or one of its ancestors).
	File  string
	Line  int
	Class string
	// Reason is one of the Reason constants.
	Reason string
}

// rule is one compiled allow or deny.
type rule struct {
	act, obj, eft string
	key           string // "account.executables"
	class, file   string
	line          int
	lit           string // literal prefix of a glob object: a cheap first filter
}

func (r *rule) text() string { return r.key + ": " + r.obj }

// actIndex holds one effect's rules for one action of one class.
type actIndex struct {
	exact map[string]*rule
	globs []*rule
}

// classIndex holds a class's own rules (not its ancestors').
type classIndex struct {
	allow, deny map[string]*actIndex
}

func newClassIndex(f *file) *classIndex {
	ix := &classIndex{allow: map[string]*actIndex{}, deny: map[string]*actIndex{}}
	for _, r := range ownRules(f) {
		ix.add(r)
	}
	return ix
}

// ownRules lists a file's allow and deny rules in file order.
func ownRules(f *file) []*rule {
	if f.rules == nil {
		f.rules = makeRules(f)
	}
	return f.rules
}

func makeRules(f *file) []*rule {
	out := []*rule{}
	for _, spec := range listSpecs {
		if spec.act == "" {
			continue
		}
		acts := []string{spec.act}
		if spec.act == actReadWrite {
			acts = []string{ActRead, ActWrite}
		}
		for _, it := range f.lists[spec.key] {
			for _, a := range acts {
				out = append(out, &rule{act: a, obj: it.v, eft: spec.eft, key: spec.key,
					class: f.name(), file: f.path, line: it.line})
			}
		}
	}
	return out
}

func (ix *classIndex) add(r *rule) {
	m := ix.allow
	if r.eft == effDeny {
		m = ix.deny
	}
	ai := m[r.act]
	if ai == nil {
		ai = &actIndex{exact: map[string]*rule{}}
		m[r.act] = ai
	}
	if isGlob(r.obj) {
		r.lit = literalPrefix(r.obj)
		ai.globs = append(ai.globs, r)
	} else if _, dup := ai.exact[r.obj]; !dup {
		ai.exact[r.obj] = r
	}
}

func isGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

// literalPrefix is the part of a glob before its first wildcard, without a
// trailing slash (so that "/data/**" still matches "/data" itself).
func literalPrefix(pat string) string {
	i := strings.IndexAny(pat, "*?[\\")
	if i < 0 {
		i = len(pat)
	}
	return strings.TrimRight(pat[:i], "/")
}

// match finds a rule of ai matching object obj for action act.
func (ai *actIndex) match(act, obj string) *rule {
	if ai == nil {
		return nil
	}
	if r := ai.exact[obj]; r != nil {
		return r
	}
	if act == ActExec && len(obj) > 0 && obj[0] == '/' {
		if r := ai.exact[filepath.Base(obj)]; r != nil && !filepath.IsAbs(r.obj) {
			return r
		}
	}
	for _, r := range ai.globs {
		if strings.HasPrefix(obj, r.lit) && objMatch(act, obj, r.obj) {
			return r
		}
	}
	return nil
}

// objMatch is the object matcher shared by the index and the casbin model.
func objMatch(act, obj, pat string) bool {
	if act == ActExec && !filepath.IsAbs(pat) {
		return obj == pat || (filepath.IsAbs(obj) && filepath.Base(obj) == pat)
	}
	if !isGlob(pat) {
		return obj == pat
	}
	switch act {
	case ActRead, ActWrite, ActExec:
		return globPath(pat, obj)
	}
	ok, _ := path.Match(pat, obj)
	return ok
}

// globPath matches slash-separated paths: * and ? within one element,
// ** across any number of elements (zero included). It does not allocate.
func globPath(pat, name string) bool {
	for {
		pseg, prest, pmore := strings.Cut(pat, "/")
		if pseg == "**" {
			if !pmore {
				return true
			}
			for n := name; ; {
				if globPath(prest, n) {
					return true
				}
				i := strings.IndexByte(n, '/')
				if i < 0 {
					return false
				}
				n = n[i+1:]
			}
		}
		nseg, nrest, nmore := strings.Cut(name, "/")
		if ok, _ := path.Match(pseg, nseg); !ok {
			return false
		}
		switch {
		case pmore && nmore:
			pat, name = prest, nrest
		case pmore:
			return prest == "**"
		default:
			return !nmore
		}
	}
}

// Decide answers whether class may do act on obj: a deny anywhere up the
// tree wins, else the nearest allow, else no.
func (s *Set) Decide(class, act, obj string) Decision {
	c, ok := s.Class(class)
	if !ok {
		return Decision{Action: act, Object: obj, Class: class, Reason: ReasonUnknownClass}
	}
	return c.Decide(act, obj)
}

// Decide answers for this (merged) class; see Set.Decide.
func (c *Class) Decide(act, obj string) Decision {
	for _, ix := range c.idx {
		if r := ix.deny[act].match(act, obj); r != nil {
			return decision(r, act, obj, false, ReasonDenied)
		}
	}
	for _, ix := range c.idx {
		if r := ix.allow[act].match(act, obj); r != nil {
			return decision(r, act, obj, true, ReasonAllowed)
		}
	}
	return Decision{Action: act, Object: obj, Class: c.Name, Reason: ReasonNoRule}
}

func decision(r *rule, act, obj string, allow bool, reason string) Decision {
	return Decision{Allow: allow, Action: act, Object: obj, Rule: r.text(), File: r.file, Line: r.line,
		Class: r.class, Reason: reason}
}

// Limits returns the typed limits of class.
func (s *Set) Limits(class string) (Limits, bool) {
	c, ok := s.Class(class)
	if !ok {
		return Limits{}, false
	}
	return c.Limits(), true
}
