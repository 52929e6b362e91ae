package gish

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/igrid/igrid/gish/lineedit"
)

// completer offers, for the first word, only what this class may run
// (its executables and GISH's safe builtins and commands), and otherwise
// the paths inside the readable areas.
func (sh *Shell) completer(line string, pos int) (int, []string) {
	start := strings.LastIndexAny(line[:pos], " \t;|&()<>") + 1
	word := line[start:pos]
	first := strings.TrimSpace(line[:start]) == "" || strings.ContainsAny(line[start-min(start, 1):start], ";|&(")
	if first && !strings.Contains(word, "/") {
		return start, sh.commandNames(word)
	}
	return start, sh.pathNames(word)
}

func (sh *Shell) commandNames(prefix string) []string {
	var out []string
	add := func(n string) {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	for n := range sh.policy.Executables {
		add(n)
	}
	for n := range safeBuiltins {
		if n != "[" {
			add(n)
		}
	}
	sort.Strings(out)
	return out
}

// pathNames lists entries of the word's directory, if that directory may
// be read; directories get a trailing slash.
func (sh *Shell) pathNames(word string) []string {
	dir, base := filepath.Split(word)
	abs := dir
	switch {
	case strings.HasPrefix(dir, "~/"):
		abs = filepath.Join(sh.cfg.Home, dir[2:])
	case dir == "":
		abs = sh.runner.Dir
	case !filepath.IsAbs(dir):
		abs = filepath.Join(sh.runner.Dir, dir)
	}
	if sh.policy.checkListable(abs) != nil {
		return nil
	}
	ents, err := os.ReadDir(abs)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, base) || (strings.HasPrefix(n, ".") && !strings.HasPrefix(base, ".")) {
			continue
		}
		if e.IsDir() {
			n += "/"
		}
		out = append(out, dir+n)
	}
	return out
}

// HistoryFile is the history's name in the home.
const HistoryFile = ".gish_history"

// openHistory opens the home's history file beneath the home (os.Root:
// a symlink cannot send it elsewhere); nil if it cannot.
func (sh *Shell) openHistory() *lineedit.History {
	root, err := os.OpenRoot(sh.cfg.Home)
	if err != nil {
		return lineedit.OpenHistory(nil)
	}
	defer root.Close()
	f, err := root.OpenFile(HistoryFile, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return lineedit.OpenHistory(nil)
	}
	return lineedit.OpenHistory(f)
}
