package policies

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"

	"gopkg.in/yaml.v3"
)

// The keys a class file may hold, by section. Anything else is an error, so
// that a typo never silently drops a rule.
var knownKeys = map[string]map[string]bool{
	"": {"class": true, "inherits": true, "description": true, "executables": true,
		"session": true, "account_pool": true},
	"session":      {"max_usage_time": true, "max_processes": true},
	"account_pool": {"prefix": true, "size": true},
}

var prefixRe = regexp.MustCompile(`^[a-z][a-z0-9]{0,11}$`)

// LoadDir reads every *.yaml and *.yml file of dir as one class each, checks
// them and resolves inheritance. A set with any error is rejected as a whole:
// the error is a *LoadError listing every problem with file, line and key.
func LoadDir(dir string) (*Set, error) {
	paths, err := classFiles(dir)
	if err != nil {
		return nil, err
	}
	var probs []Problem
	files := map[string]*file{}
	for _, p := range paths {
		f, ps := readFile(p)
		probs = append(probs, ps...)
		if f == nil {
			continue
		}
		if prev, dup := files[f.Class]; dup {
			probs = append(probs, Problem{File: f.path, Line: f.line, Key: "class",
				Msg: fmt.Sprintf("class %q is already defined in %s", f.Class, prev.path)})
			continue
		}
		files[f.Class] = f
	}
	set, ps := build(files)
	probs = append(probs, ps...)
	if len(probs) > 0 {
		return nil, &LoadError{Problems: probs}
	}
	return set, nil
}

func classFiles(dir string) ([]string, error) {
	var out []string
	for _, pat := range []string{"*.yaml", "*.yml"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return nil, err
		}
		out = append(out, m...)
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("policies: %w", err)
	}
	sort.Strings(out)
	return out, nil
}

func readFile(path string) (*file, []Problem) {
	name := filepath.Base(path)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, []Problem{{File: name, Msg: err.Error()}}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, []Problem{yamlProblem(name, err)}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, []Problem{{File: name, Line: 1, Msg: "want a mapping with at least a \"class\" key"}}
	}
	root := doc.Content[0]
	probs := checkKeys(name, root, "")
	var f file
	if err := root.Decode(&f); err != nil {
		probs = append(probs, typeProblems(name, err)...)
	}
	f.path, f.line = name, keyLine(root, "class")
	probs = append(probs, checkValues(&f)...)
	if len(probs) > 0 {
		return nil, probs
	}
	return &f, nil
}

// checkKeys reports unknown keys of a mapping node and of its known sections.
func checkKeys(name string, m *yaml.Node, section string) []Problem {
	var probs []Problem
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		full := k.Value
		if section != "" {
			full = section + "." + k.Value
		}
		if !knownKeys[section][k.Value] {
			probs = append(probs, Problem{File: name, Line: k.Line, Key: full, Msg: "unknown key"})
			continue
		}
		if _, isSection := knownKeys[k.Value]; isSection && section == "" {
			if v.Kind != yaml.MappingNode {
				probs = append(probs, Problem{File: name, Line: v.Line, Key: full, Msg: "want a mapping"})
				continue
			}
			probs = append(probs, checkKeys(name, v, k.Value)...)
		}
	}
	return probs
}

func keyLine(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i].Line
		}
	}
	return m.Line
}

var lineRe = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

func yamlProblem(name string, err error) Problem {
	if m := lineRe.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return Problem{File: name, Line: n, Msg: m[2]}
	}
	return Problem{File: name, Msg: err.Error()}
}

func typeProblems(name string, err error) []Problem {
	te, ok := err.(*yaml.TypeError)
	if !ok {
		return []Problem{yamlProblem(name, err)}
	}
	out := make([]Problem, 0, len(te.Errors))
	for _, e := range te.Errors {
		out = append(out, yamlProblem(name, fmt.Errorf("%s", e)))
	}
	return out
}
