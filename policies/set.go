package policies

import (
	"fmt"
	"sort"
	"strings"
)

// Set is a loaded, fully resolved policy set. It is immutable and safe for
// concurrent use.
type Set struct {
	classes map[string]*Class
}

// Class returns the merged view of a class.
func (s *Set) Class(name string) (*Class, bool) {
	c, ok := s.classes[name]
	return c, ok
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

// build resolves inheritance over the checked files.
func build(files map[string]*file) (*Set, []Problem) {
	var probs []Problem
	for _, f := range files {
		for _, p := range f.Inherits {
			if _, ok := files[p]; !ok {
				probs = append(probs, Problem{File: f.path, Line: f.line, Key: "inherits",
					Msg: fmt.Sprintf("unknown parent class %q", p)})
			}
		}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	set := &Set{classes: map[string]*Class{}}
	for name, f := range files {
		if cyc := findCycle(files, name, nil); cyc != nil {
			probs = append(probs, Problem{File: f.path, Line: f.line, Key: "inherits",
				Msg: "inheritance cycle: " + strings.Join(cyc, " → ")})
			continue
		}
		set.classes[name] = merge(files, f)
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return set, nil
}

// findCycle returns the path of a cycle reachable from name, if any.
func findCycle(files map[string]*file, name string, path []string) []string {
	for i, p := range path {
		if p == name {
			return append(append([]string{}, path[i:]...), name)
		}
	}
	path = append(path, name)
	for _, parent := range files[name].Inherits {
		if c := findCycle(files, parent, path); c != nil {
			return c
		}
	}
	return nil
}

// merge computes a class's effective policy: executables add up down the
// tree; limits take the most restrictive non-zero value along the chain;
// the account pool is the class's own.
func merge(files map[string]*file, f *file) *Class {
	c := &Class{
		Name: f.Class, Description: f.Description, File: f.path,
		Inherits: append([]string{}, f.Inherits...), AccountPool: f.AccountPool,
		Chain: chain(files, f.Class),
	}
	exe := map[string]bool{}
	for _, name := range c.Chain {
		g := files[name]
		for _, e := range g.Executables {
			exe[e] = true
		}
		c.Session.MaxUsageTime = minNonZero(c.Session.MaxUsageTime, g.Session.MaxUsageTime)
		c.Session.MaxProcesses = minNonZero(c.Session.MaxProcesses, g.Session.MaxProcesses)
	}
	for e := range exe {
		c.Executables = append(c.Executables, e)
	}
	sort.Strings(c.Executables)
	return c
}

// chain lists name and its ancestors breadth-first, each once.
func chain(files map[string]*file, name string) []string {
	seen := map[string]bool{name: true}
	out := []string{name}
	for i := 0; i < len(out); i++ {
		for _, p := range files[out[i]].Inherits {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out
}

func minNonZero[T int | ~int64](a, b T) T {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	default:
		return min(a, b)
	}
}
