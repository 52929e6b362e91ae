package policies

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/casbin/casbin/v2"
)

// Set is a loaded, fully resolved policy set. It is immutable and safe for
// concurrent use.
type Set struct {
	classes map[string]*Class
	files   map[string]*file
	own     map[string]*classIndex
	version string
	sources map[string][]byte
	combos  sync.Map // "a,b" → *Class
	execs   sync.Map // class → *resolvedExecs

	enfOnce sync.Once // the casbin enforcer is compiled on first use
	enf     *casbin.Enforcer
	enfErr  error
}

// Class returns the merged view of a class. A name "a+b" that is not a
// class itself names the combination of classes a and b (see Combine), the
// class of a user with several roles.
func (s *Set) Class(name string) (*Class, bool) {
	if c, ok := s.classes[name]; ok {
		return c, true
	}
	if !strings.Contains(name, "+") {
		return nil, false
	}
	c, err := s.Combine(strings.Split(name, "+")...)
	return c, err == nil
}

// Names lists the class names, sorted.
func (s *Set) Names() []string {
	out := make([]string, 0, len(s.classes))
	for n := range s.classes {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Version is the content hash of the set's files ("sha256:…"): equal sets
// have equal versions.
func (s *Set) Version() string { return s.version }

// Sources returns a copy of the class files the set was compiled from.
func (s *Set) Sources() map[string][]byte {
	out := make(map[string][]byte, len(s.sources))
	for k, v := range s.sources {
		out[k] = append([]byte(nil), v...)
	}
	return out
}

// Current returns s itself, so that a static set is a Source.
func (s *Set) Current() *Set { return s }

// build resolves inheritance over the checked files.
func build(files map[string]*file) (*Set, []Problem) {
	probs := checkParents(files, nil)
	if len(probs) > 0 {
		return nil, probs
	}
	if probs = findCycles(files); len(probs) > 0 {
		return nil, probs
	}
	set := &Set{classes: make(map[string]*Class, len(files)), files: files, own: make(map[string]*classIndex, len(files))}
	for name, f := range files {
		set.own[name] = newClassIndex(f) // also fixes f.rules before casbin reads them
	}
	m := newMerger(files)
	for name := range files {
		c, ps := m.class(name, set.own)
		probs = append(probs, ps...)
		set.classes[name] = c
	}
	if len(probs) > 0 {
		sortProblems(probs)
		return nil, probs
	}
	return set, nil
}

func sortProblems(p []Problem) {
	sort.SliceStable(p, func(i, j int) bool {
		if p[i].File != p[j].File {
			return p[i].File < p[j].File
		}
		return p[i].Line < p[j].Line
	})
}

// checkParents reports parents that no file defines (classes in known are
// defined, by files with problems of their own).
func checkParents(files map[string]*file, known map[string]bool) []Problem {
	var probs []Problem
	for _, f := range files {
		for _, p := range f.lists["inherits"] {
			if _, ok := files[p.v]; !ok && !known[p.v] {
				probs = append(probs, Problem{File: f.path, Line: p.line, Key: "inherits",
					Msg: fmt.Sprintf("unknown parent class %q", p.v)})
			} else if p.v == f.name() {
				probs = append(probs, Problem{File: f.path, Line: p.line, Key: "inherits",
					Msg: "a class cannot inherit itself"})
			}
		}
	}
	sortProblems(probs)
	return probs
}

// findCycles reports each inheritance cycle once (depth-first, colours).
func findCycles(files map[string]*file) []Problem {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	const (
		white = iota
		grey
		black
	)
	colour := map[string]int{}
	var probs []Problem
	var stack []string
	var visit func(n string)
	visit = func(n string) {
		colour[n] = grey
		stack = append(stack, n)
		for _, p := range files[n].lists["inherits"] {
			if files[p.v] == nil {
				continue // reported by checkParents
			}
			switch colour[p.v] {
			case white:
				visit(p.v)
			case grey:
				i := indexOf(stack, p.v)
				cyc := append(append([]string{}, stack[i:]...), p.v)
				f := files[n]
				probs = append(probs, Problem{File: f.path, Line: p.line, Key: "inherits",
					Msg: "inheritance cycle: " + strings.Join(cyc, " → ")})
			}
		}
		stack = stack[:len(stack)-1]
		colour[n] = black
	}
	for _, n := range names {
		if colour[n] == white {
			visit(n)
		}
	}
	return probs
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// parents returns the parent names of a file in "inherits" order.
func (f *file) parents() []string {
	out := make([]string, len(f.lists["inherits"]))
	for i, p := range f.lists["inherits"] {
		out[i] = p.v
	}
	return out
}

// chain lists name and its ancestors breadth-first, each once.
func chain(files map[string]*file, name string) []string {
	seen := map[string]bool{name: true}
	out := []string{name}
	for i := 0; i < len(out); i++ {
		for _, p := range files[out[i]].parents() {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}
