package policies

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

var prefixRe = regexp.MustCompile(`^[a-z][a-z0-9]{0,11}$`)

// LoadDir reads every *.yaml and *.yml file of dir as one class each, checks
// them and resolves inheritance. A set with any error is rejected as a whole:
// the error is a *LoadError listing every problem with file, line and key.
func LoadDir(dir string) (*Set, error) {
	files, err := ReadDir(dir)
	if err != nil {
		return nil, err
	}
	return LoadFiles(files)
}

// ReadDir returns the class files of dir (base name → content), the input
// of LoadFiles.
func ReadDir(dir string) (map[string][]byte, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("policies: %w", err)
	}
	var paths []string
	for _, pat := range []string{"*.yaml", "*.yml"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			return nil, err
		}
		paths = append(paths, m...)
	}
	out := make(map[string][]byte, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("policies: %w", err)
		}
		out[filepath.Base(p)] = b
	}
	return out, nil
}

// LoadFiles compiles a set from class files given as base name → content
// (what ReadDir returns and what Publisher sends over NATS).
func LoadFiles(src map[string][]byte) (*Set, error) {
	names := make([]string, 0, len(src))
	for n := range src {
		names = append(names, n)
	}
	sort.Strings(names)
	var probs []Problem
	files := map[string]*file{}
	broken := map[string]bool{} // classes whose own file has problems
	parsed := parseAll(names, src)
	for i := range names {
		f, ps := parsed[i].f, parsed[i].probs
		probs = append(probs, ps...)
		if len(ps) > 0 {
			if f != nil && f.name() != "" {
				broken[f.name()] = true
			}
			continue
		}
		if prev, dup := files[f.name()]; dup {
			probs = append(probs, Problem{File: f.path, Line: f.line, Key: "class",
				Msg: fmt.Sprintf("class %q is already defined in %s", f.name(), prev.path)})
			continue
		}
		files[f.name()] = f
	}
	probs = append(probs, checkPrefixes(files)...)
	if len(probs) > 0 {
		// Report the inheritance problems of the good files too, so that one
		// check shows every error; parents in broken files count as known.
		probs = append(probs, checkParents(files, broken)...)
		probs = append(probs, findCycles(files)...)
		return nil, &LoadError{Problems: probs}
	}
	set, ps := build(files)
	if len(ps) > 0 {
		return nil, &LoadError{Problems: ps}
	}
	set.version = contentHash(src, names)
	set.sources = src
	return set, nil
}

type parseResult struct {
	f     *file
	probs []Problem
}

// parseAll parses the files on every CPU; results keep the order of names.
func parseAll(names []string, src map[string][]byte) []parseResult {
	out := make([]parseResult, len(names))
	workers := min(runtime.GOMAXPROCS(0), len(names)/16+1)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(names); i += workers {
				f, ps := parseFile(names[i], src[names[i]])
				out[i] = parseResult{f, ps}
			}
		}(w)
	}
	wg.Wait()
	return out
}

func parseFile(name string, data []byte) (*file, []Problem) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, []Problem{yamlProblem(name, err)}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, []Problem{{File: name, Line: 1, Msg: "want a mapping with at least a \"class\" key"}}
	}
	root := doc.Content[0]
	w := &walker{f: newFile(name)}
	w.f.line = keyLine(root, "class")
	w.walk("", root)
	w.probs = append(w.probs, checkValues(w.f)...)
	sortProblems(w.probs)
	return w.f, w.probs
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
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := lineRe.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return Problem{File: name, Line: n, Msg: m[2]}
	}
	return Problem{File: name, Msg: msg}
}

// checkPrefixes rejects two classes sharing an account prefix: their
// accounts would collide.
func checkPrefixes(files map[string]*file) []Problem {
	var probs []Problem
	owner := map[string]string{}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := files[n]
		p, ok := f.vals["account_pool.prefix"]
		if !ok {
			continue
		}
		if prev, dup := owner[p.s]; dup {
			probs = append(probs, Problem{File: f.path, Line: p.line, Key: "account_pool.prefix",
				Msg: fmt.Sprintf("prefix %q is already used by class %q: account names would collide", p.s, prev)})
			continue
		}
		owner[p.s] = n
	}
	return probs
}
