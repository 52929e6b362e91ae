package policies

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// SystemPath is where a node looks for a class's executables named without a
// path. It is fixed, not the agent's own PATH, so that what a class may run
// does not depend on how the agent was started.
const SystemPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ResolveExecutables maps each executable of the class to its real absolute
// path (symlinks followed), looking names up in path (SystemPath when
// empty). Executables that are not installed, or whose real path a deny
// rule names, are reported, not fatal: a node simply does not offer them.
func (c *Class) ResolveExecutables(path string) (map[string]string, []error) {
	if path == "" {
		path = SystemPath
	}
	out := map[string]string{}
	var errs []error
	for _, e := range c.Executables {
		real, err := resolveOne(e, path)
		if err != nil {
			errs = append(errs, fmt.Errorf("class %s: executable %q: %w", c.Name, e, err))
			continue
		}
		if d := c.Decide(ActExec, real); !d.Allow && d.Reason == ReasonDenied {
			errs = append(errs, fmt.Errorf("class %s: executable %q resolves to %s, which %s (%s:%d)",
				c.Name, e, real, d.Rule, d.File, d.Line))
			continue
		}
		out[filepath.Base(e)] = real
	}
	return out, errs
}

func resolveOne(name, path string) (string, error) {
	cands := []string{name}
	if !filepath.IsAbs(name) {
		cands = cands[:0]
		for _, dir := range strings.Split(path, ":") {
			if dir != "" {
				cands = append(cands, filepath.Join(dir, name))
			}
		}
	}
	for _, p := range cands {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			continue
		}
		st, err := os.Stat(real)
		if err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return real, nil
		}
	}
	return "", fmt.Errorf("not installed in %s", path)
}

// resolvedExecs is one class's executable table, cached in its Set.
type resolvedExecs struct {
	exes map[string]string
	errs []error
}

// Executables returns class's command table (name → real path, see
// ResolveExecutables with SystemPath), resolved once per set: a caller that
// asks its Source's Current() set at every command gets the new table right
// after a reload, and pays the PATH lookups once per set, not per command.
// The map is shared: do not modify it.
func (s *Set) Executables(class string) (map[string]string, []error) {
	if v, ok := s.execs.Load(class); ok {
		r := v.(*resolvedExecs)
		return r.exes, r.errs
	}
	c, ok := s.Class(class)
	if !ok {
		return nil, []error{&UnknownClassError{Class: class}}
	}
	exes, errs := c.ResolveExecutables("")
	v, _ := s.execs.LoadOrStore(class, &resolvedExecs{exes: exes, errs: errs})
	r := v.(*resolvedExecs)
	return r.exes, r.errs
}
