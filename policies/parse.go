package policies

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// val is one scalar as written in a file.
type val struct {
	s    string
	n    float64
	d    time.Duration
	b    bool
	line int
}

// item is one list entry as written in a file.
type item struct {
	v    string
	line int
}

// argFile is one program's argument rules in one file.
type argFile struct {
	line                                                   int
	allowOptions, denyOptions, allowPatterns, denyPatterns []item
}

// App is one application a class offers (application.installed).
type App struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Exec       string   `json:"exec"`
	Icon       string   `json:"icon,omitempty"`
	Comment    string   `json:"comment,omitempty"`
	Categories []string `json:"categories,omitempty"`
	// Class, File and Line say where the entry was defined.
	Class string `json:"class"`
	File  string `json:"file"`
	Line  int    `json:"line"`
}

// file is one class file as written by an administrator.
type file struct {
	path     string
	line     int // line of the "class:" key
	vals     map[string]val
	lists    map[string][]item
	override map[string]int // section → line of "override: true"
	args     map[string]*argFile
	argOrder []string
	apps     []App
	rules    []*rule // ownRules, computed once
}

func (f *file) name() string { return f.vals["class"].s }

func newFile(path string) *file {
	return &file{path: path, vals: map[string]val{}, lists: map[string][]item{},
		override: map[string]int{}, args: map[string]*argFile{}}
}

type walker struct {
	f     *file
	probs []Problem
}

func (w *walker) bad(line int, key, msg string, a ...any) {
	w.probs = append(w.probs, Problem{File: w.f.path, Line: line, Key: key, Msg: fmt.Sprintf(msg, a...)})
}

func join(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// walk checks and records every key of mapping m, which sits at prefix.
func (w *walker) walk(prefix string, m *yaml.Node) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		full := join(prefix, k.Value)
		if seen[k.Value] {
			w.bad(k.Line, full, "defined twice in the same mapping")
			continue
		}
		seen[k.Value] = true
		switch {
		case k.Value == "override" && prefix != "":
			if b, ok := w.boolean(v, full); ok && b {
				w.f.override[prefix] = k.Line
			}
		case attrByKey[full] != nil:
			w.scalar(v, attrByKey[full])
		case listByKey[full] != nil:
			w.f.lists[full] = w.strings(v, full)
		case sections[full]:
			if v.Kind != yaml.MappingNode {
				w.bad(v.Line, full, "want a mapping (a section), got %s", nodeKind(v))
				continue
			}
			w.walk(full, v)
		case full == keyArguments:
			w.arguments(v)
		case full == keyInstalled:
			w.installed(v)
		default:
			w.bad(k.Line, full, "unknown key")
		}
	}
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "nothing"
	}
	return fmt.Sprintf("%q", n.Value)
}

func (w *walker) boolean(v *yaml.Node, key string) (bool, bool) {
	if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
		w.bad(v.Line, key, "want true or false, got %s", nodeKind(v))
		return false, false
	}
	b, _ := strconv.ParseBool(v.Value)
	return b, true
}

// scalar parses v as spec's kind and stores it.
func (w *walker) scalar(v *yaml.Node, spec *attrSpec) {
	key := spec.key
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		w.bad(v.Line, key, "want %s, got %s", spec.kind, nodeKind(v))
		return
	}
	x := val{s: v.Value, line: v.Line}
	switch spec.kind {
	case kInt, kFloat:
		n, err := strconv.ParseFloat(v.Value, 64)
		if err != nil || (spec.kind == kInt && (v.Tag != "!!int")) {
			w.bad(v.Line, key, "want %s, got %q", spec.kind, v.Value)
			return
		}
		if n < 0 {
			w.bad(v.Line, key, "must not be negative (got %s)", v.Value)
			return
		}
		if spec.max > 0 && n > spec.max {
			w.bad(v.Line, key, "%s is above the maximum %v", v.Value, spec.max)
			return
		}
		x.n = n
	case kDuration:
		d, err := time.ParseDuration(v.Value)
		if v.Value == "0" {
			d, err = 0, nil
		}
		if err != nil {
			w.bad(v.Line, key, "want %s, got %q", spec.kind, v.Value)
			return
		}
		if d < 0 {
			w.bad(v.Line, key, "must not be negative (got %s)", v.Value)
			return
		}
		x.d = d
	case kBool:
		b, ok := w.boolean(v, key)
		if !ok {
			return
		}
		x.b = b
	case kEnum:
		if !contains(spec.enum, v.Value) {
			w.bad(v.Line, key, "%q is not one of %s", v.Value, strings.Join(spec.enum, ", "))
			return
		}
	}
	w.f.vals[key] = x
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// strings parses a list of scalars.
func (w *walker) strings(v *yaml.Node, key string) []item {
	if v.Kind != yaml.SequenceNode {
		w.bad(v.Line, key, "want a list, got %s", nodeKind(v))
		return nil
	}
	out := make([]item, 0, len(v.Content))
	for _, e := range v.Content {
		if e.Kind != yaml.ScalarNode || e.Tag == "!!null" || e.Value == "" {
			w.bad(e.Line, key, "want a non-empty string list item, got %s", nodeKind(e))
			continue
		}
		out = append(out, item{v: e.Value, line: e.Line})
	}
	return out
}

var argKeys = []string{"allow_options", "deny_options", "allow_patterns", "deny_patterns"}

// arguments parses account.arguments: program → option and pattern lists.
func (w *walker) arguments(v *yaml.Node) {
	if v.Kind != yaml.MappingNode {
		w.bad(v.Line, keyArguments, "want a mapping of program → rules, got %s", nodeKind(v))
		return
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, r := v.Content[i], v.Content[i+1]
		key := keyArguments + "." + k.Value
		if r.Kind != yaml.MappingNode {
			w.bad(r.Line, key, "want a mapping with %s", strings.Join(argKeys, ", "))
			continue
		}
		if _, dup := w.f.args[k.Value]; dup {
			w.bad(k.Line, key, "defined twice in the same mapping")
			continue
		}
		a := &argFile{line: k.Line}
		for j := 0; j+1 < len(r.Content); j += 2 {
			rk, rv := r.Content[j], r.Content[j+1]
			lst := w.strings(rv, key+"."+rk.Value)
			switch rk.Value {
			case "allow_options":
				a.allowOptions = lst
			case "deny_options":
				a.denyOptions = lst
			case "allow_patterns":
				a.allowPatterns = lst
			case "deny_patterns":
				a.denyPatterns = lst
			default:
				w.bad(rk.Line, key+"."+rk.Value, "unknown key (want %s)", strings.Join(argKeys, ", "))
			}
		}
		w.f.args[k.Value] = a
		w.f.argOrder = append(w.f.argOrder, k.Value)
	}
}

// installed parses application.installed: a list of applications.
func (w *walker) installed(v *yaml.Node) {
	if v.Kind != yaml.SequenceNode {
		w.bad(v.Line, keyInstalled, "want a list of applications, got %s", nodeKind(v))
		return
	}
	for _, e := range v.Content {
		if e.Kind != yaml.MappingNode {
			w.bad(e.Line, keyInstalled, "want a mapping with id, name, exec, got %s", nodeKind(e))
			continue
		}
		app := App{File: w.f.path, Line: e.Line}
		for j := 0; j+1 < len(e.Content); j += 2 {
			k, x := e.Content[j], e.Content[j+1]
			key := keyInstalled + "." + k.Value
			if k.Value == "categories" {
				for _, it := range w.strings(x, key) {
					app.Categories = append(app.Categories, it.v)
				}
				continue
			}
			dst := map[string]*string{"id": &app.ID, "name": &app.Name, "exec": &app.Exec,
				"icon": &app.Icon, "comment": &app.Comment}[k.Value]
			if dst == nil {
				w.bad(k.Line, key, "unknown key (want id, name, exec, icon, comment, categories)")
				continue
			}
			if x.Kind != yaml.ScalarNode || x.Tag == "!!null" {
				w.bad(x.Line, key, "want a string, got %s", nodeKind(x))
				continue
			}
			*dst = x.Value
		}
		for _, req := range [][2]string{{"id", app.ID}, {"name", app.Name}, {"exec", app.Exec}} {
			if req[1] == "" {
				w.bad(e.Line, keyInstalled+"."+req[0], "missing: every application needs id, name and exec")
			}
		}
		w.f.apps = append(w.f.apps, app)
	}
}
