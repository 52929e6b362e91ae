package gish

import (
	"path/filepath"
	"sort"
)

// KnownRules are the argument rules GISH ships for programs whose options
// run commands, write files or load code (the GTFOBins list). A policy may
// replace any of them; DefaultPolicy applies them to every allowed program.
func KnownRules() map[string]*ArgRule {
	read := func(skip int) *ArgRule { return &ArgRule{Paths: PathsRead, SkipOperands: skip} }
	return map[string]*ArgRule{
		"ls": read(0), "cat": read(0), "wc": read(0), "du": read(0), "df": read(0), "diff": read(0),
		"head": {Paths: PathsRead, ValueShort: "cn"}, "tail": {Paths: PathsRead, ValueShort: "cnsF"},
		"cut":  {Paths: PathsRead, ValueShort: "bcdf"},
		"uniq": {Paths: PathsLastWrite, ValueShort: "fsw"},
		"grep": {Paths: PathsRead, SkipOperands: 1, ValueShort: "efmABCdD",
			ReadOptions: []string{"-f", "--file"}, Value: []string{"--file", "--regexp"}},
		"sort": {Paths: PathsRead, ValueShort: "kSoTt", Deny: []string{"--compress-program"},
			WriteOptions: []string{"-o", "--output"}, Value: []string{"--output", "--key", "--temporary-directory"}},
		"cp": {Paths: PathsLastWrite, Value: []string{"--target-directory"}, ValueShort: "St",
			WriteOptions: []string{"-t", "--target-directory"}},
		"mv": {Paths: PathsLastWrite, ValueShort: "St", WriteOptions: []string{"-t", "--target-directory"}},
		"rm": {Paths: PathsWrite}, "rmdir": {Paths: PathsWrite}, "mkdir": {Paths: PathsWrite, ValueShort: "m"},
		"touch": {Paths: PathsWrite, ValueShort: "dtr", ReadOptions: []string{"-r", "--reference"}},
		"date":  {ValueShort: "dfrI", Deny: []string{"-s", "--set"}, ReadOptions: []string{"-f", "--file"}},
		"vim": {Paths: PathsRead, DenyPrefix: []string{"+"}, ValueShort: "cSuUTiwWt",
			Deny: []string{"-c", "--cmd", "-S", "-u", "-U", "--remote*", "--servername", "--startuptime", "-w", "-W"}},
		"less": {Paths: PathsRead, DenyPrefix: []string{"+"}, ValueShort: "bhjkoOpPtTxyz#",
			Deny: []string{"-k", "--lesskey-file", "--lesskey-src", "--lesskey-content", "-o", "-O", "--log-file", "--LOG-FILE", "-p"}},
		"find": {SingleDash: true, Paths: PathsRead,
			Deny:  []string{"-exec", "-execdir", "-ok", "-okdir", "-fprint", "-fprint0", "-fprintf", "-fls"},
			Value: []string{"-name", "-iname", "-path", "-ipath", "-regex", "-type", "-newer", "-user", "-group", "-perm", "-size", "-mtime", "-maxdepth", "-mindepth", "-printf"}},
		"tar": {ValueShort: "fCIFbgHKLNTVX", Known: []string{"--checkpoint", "--file", "--directory", "--create", "--extract", "--list"},
			Deny:        []string{"--to-command", "--checkpoint-action", "--use-compress-program", "-I", "--rsh-command", "--info-script", "-F", "--new-volume-script", "--rmt-command"},
			ReadOptions: []string{"-f", "--file"}, Value: []string{"--file", "--directory"}},
		"git": {Deny: []string{"-c", "--config-env", "--exec-path", "--upload-pack", "-u", "--receive-pack", "--exec", "-x", "--extcmd", "--tool", "-t", "--template"},
			Known: []string{"--version", "--help", "--no-pager", "--git-dir", "--work-tree"}, ValueShort: "C",
			DenyPatterns: []string{`^ext::`, `^fd::`}},
		"python3": {Paths: PathsRead, Deny: []string{"-c"}, ValueShort: "cmWX"},
		"awk": {SkipOperands: 1, Paths: PathsRead, ValueShort: "fvF", ReadOptions: []string{"-f"},
			DenyPatterns: []string{`system\s*\(`, `\|\s*getline`, `\|&`, `(print|printf)[^;}]*\|`}},
		"gcc": {SingleDash: true, Paths: PathsRead, DenyPrefix: []string{"@"},
			Deny:         []string{"-wrapper", "-B*", "-fplugin*", "-specs*", "--specs*", "-fdump-*"},
			Value:        []string{"-o", "-x", "-I", "-L", "-include", "-MF"},
			WriteOptions: []string{"-o", "-MF"}},
		"make": {Deny: []string{"--eval", "-E", "--file-fd"}, ValueShort: "fCIjloW", ReadOptions: []string{"-f", "--file", "--makefile"},
			Value: []string{"--file", "--makefile", "--directory"}},
		"bc": read(0),
	}
}

// compilerHelpers are the programs a C compiler execs behind gcc.
var compilerHelpers = []string{"/usr/lib/gcc", "/usr/libexec/gcc", "/usr/bin/as", "/usr/bin/ld", "/usr/bin/ld.bfd",
	"/usr/bin/x86_64-linux-gnu-as", "/usr/bin/x86_64-linux-gnu-ld", "/usr/bin/x86_64-linux-gnu-ld.bfd"}

// DefaultPolicy is the policy GISH enforces for a class until the policy
// engine supplies one (see gish/README.md for the mapping): the class's
// executables with KnownRules, the system read areas, the home as the
// only write area, no extra environment, unsigned user binaries denied,
// Landlock required.
func DefaultPolicy(class string, exes map[string]string, home string) *Policy {
	known := KnownRules()
	p := &Policy{Class: class, Executables: exes, Programs: map[string]*ArgRule{},
		ReadAreas: SystemReadAreas(), WriteAreas: []string{home}, Unsigned: UnsignedDeny}
	for name := range exes {
		if r, ok := known[name]; ok {
			p.Programs[name] = r
		}
		if name == "gcc" || name == "cc" {
			p.ExecHelpers = append(p.ExecHelpers, compilerHelpers...)
		}
	}
	p.prepare() // the shipped patterns compile
	return p
}

// prepare finishes a policy that came over the wire: indexes, compiles
// rules, and names the executables in a stable order.
func (p *Policy) prepare() error {
	p.index()
	for name, r := range p.Programs {
		if err := r.compile(); err != nil {
			return &Denial{Subject: name, Rule: RuleArguments, Reason: "has a bad pattern in its rules: " + err.Error()}
		}
	}
	return nil
}

// execFiles are every file programs may execve: the allowed programs,
// their helpers and their loaders.
func (p *Policy) execFiles() []string {
	var out []string
	for _, real := range p.Executables {
		out = append(out, real)
	}
	sort.Strings(out)
	for _, h := range p.ExecHelpers {
		if r, err := filepath.EvalSymlinks(h); err == nil {
			out = append(out, r)
		}
	}
	return out
}
