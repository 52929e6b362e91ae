package policies

import (
	"fmt"
	"path/filepath"

	"github.com/igrid/igrid/internal/proto"
)

// checkValues validates one file's values on their own (inheritance is
// checked in build).
func checkValues(f *file) []Problem {
	var probs []Problem
	add := func(key, msg string, a ...any) {
		probs = append(probs, Problem{File: f.path, Line: f.line, Key: key, Msg: fmt.Sprintf(msg, a...)})
	}
	if f.Class == "" {
		add("class", "missing: every file names its class")
	} else if !proto.ValidName(f.Class) {
		add("class", "%q is not a class name (letters, digits, . _ + -)", f.Class)
	}
	if f.Session.MaxUsageTime < 0 {
		add("session.max_usage_time", "must not be negative")
	}
	if f.Session.MaxProcesses < 0 {
		add("session.max_processes", "must not be negative")
	}
	if f.AccountPool.Size < 0 || f.AccountPool.Size > 99 {
		add("account_pool.size", "%d is out of range [0, 99]", f.AccountPool.Size)
	}
	if f.AccountPool.Prefix != "" && !prefixRe.MatchString(f.AccountPool.Prefix) {
		add("account_pool.prefix", "%q must be 1-12 lower-case letters and digits, starting with a letter", f.AccountPool.Prefix)
	}
	for _, e := range f.Executables {
		if e == "" || (filepath.IsAbs(e) && filepath.Clean(e) != e) || (!filepath.IsAbs(e) && filepath.Base(e) != e) {
			add("executables", "%q must be a command name or a clean absolute path", e)
		}
	}
	return probs
}
