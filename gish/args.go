package gish

import (
	"path/filepath"
	"regexp"
	"strings"
)

// Path modes of an ArgRule: how operands are checked against the areas.
const (
	PathsNone      = ""           // operands are not paths
	PathsRead      = "read"       // every operand is read
	PathsWrite     = "write"      // every operand is written (rm, mkdir, touch)
	PathsLastWrite = "last-write" // the last operand is written, the rest read (cp, mv)
)

// ArgRule is what one executable may be given. Options are matched as the
// program's parser would see them: GNU long options by unambiguous prefix
// (`--checkp` is `--checkpoint-action` when that is the only match), short
// options in bundles (`-Ic` is `-I -c`), options after operands, `--` ends
// options.
type ArgRule struct {
	// Allow, when set, is the only options accepted ("-l", "--all").
	Allow []string `json:",omitempty"`
	// Deny are options always refused; an entry ending in "*" is a prefix
	// ("-fplugin*", "--remote*").
	Deny []string `json:",omitempty"`
	// Known are other long options of the program, so that a prefix of a
	// denied one that is exactly a harmless one (tar --checkpoint) passes.
	Known []string `json:",omitempty"`
	// Value are options that take the next word as their value
	// ("-o", "--output"); ValueShort the short ones as letters ("ef").
	Value      []string `json:",omitempty"`
	ValueShort string   `json:",omitempty"`
	// ReadOptions and WriteOptions are options whose value is a path.
	ReadOptions  []string `json:",omitempty"`
	WriteOptions []string `json:",omitempty"`
	// SingleDash: options are whole words after one dash (find -exec,
	// gcc -wrapper); no bundles.
	SingleDash bool `json:",omitempty"`
	// DenyPrefix refuses operands that start so ("+" for vim +cmd).
	DenyPrefix []string `json:",omitempty"`
	// AllowOperands, when set, are the only operands accepted: shell-style
	// patterns ("status", "*.service"), as the policy's allow_patterns.
	AllowOperands []string `json:",omitempty"`
	// DenyPatterns are regular expressions refused in any argument
	// (awk 'BEGIN{system("sh")}').
	DenyPatterns []string `json:",omitempty"`
	// Paths is one of the Paths constants; SkipOperands leading operands
	// are not paths (grep's pattern, awk's program).
	Paths        string `json:",omitempty"`
	SkipOperands int    `json:",omitempty"`

	patterns []*regexp.Regexp
}

func (r *ArgRule) compile() error {
	r.patterns = r.patterns[:0]
	for _, s := range r.DenyPatterns {
		re, err := regexp.Compile(s)
		if err != nil {
			return err
		}
		r.patterns = append(r.patterns, re)
	}
	return nil
}

// argCheck is one run of a rule over an argv: it collects operands and
// path options as it goes.
type argCheck struct {
	r        *ArgRule
	prog     string
	operands []string
	reads    []string
	writes   []string
}

func (c *argCheck) deny(arg, why string) error {
	return &Denial{Subject: c.prog + " " + arg, Rule: RuleArguments, Reason: why}
}

// CheckArgs decides whether the allowed executable name may run with args
// (argv[1:]) in dir: options, operands, and paths against the areas.
func (p *Policy) CheckArgs(name string, args []string, dir string) error {
	if name == "sudo" && len(p.Sudo) > 0 {
		_, err := p.checkSudo(args)
		return err
	}
	r := p.Programs[name]
	if r == nil {
		return nil
	}
	c := &argCheck{r: r, prog: name}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if err := c.patternsOK(a); err != nil {
			return err
		}
		next, err := c.word(a, args, i)
		if err != nil {
			return err
		}
		i = next
	}
	return c.paths(p, dir)
}

func (c *argCheck) patternsOK(a string) error {
	for _, re := range c.r.patterns {
		if re.MatchString(a) {
			return c.deny(firstLine(a), "runs commands (matches "+re.String()+")")
		}
	}
	return nil
}

// word judges args[i] and returns the index of the last word it consumed.
func (c *argCheck) word(a string, args []string, i int) (int, error) {
	switch {
	case a == "--" && !c.r.SingleDash:
		for _, o := range args[i+1:] {
			if err := c.operand(o); err != nil {
				return i, err
			}
		}
		return len(args), nil
	case c.r.SingleDash && len(a) > 1 && a[0] == '-':
		return c.option(a, a, args, i)
	case strings.HasPrefix(a, "--") && len(a) > 2:
		name, _, _ := strings.Cut(a, "=")
		return c.option(a, c.longName(name), args, i)
	case len(a) > 1 && a[0] == '-':
		return c.bundle(a, args, i)
	}
	return i, c.operand(a)
}

// longName resolves a GNU long option the way getopt_long does: an exact
// match, else the options it is a prefix of. A prefix of a denied option
// resolves to it (the program would take it, or refuse it as ambiguous).
func (c *argCheck) longName(name string) string {
	r := c.r
	lists := [][]string{r.Allow, r.Deny, r.Known, r.Value, r.ReadOptions, r.WriteOptions}
	for _, l := range lists {
		for _, o := range l {
			if o == name {
				return name
			}
		}
	}
	for _, o := range r.Deny {
		if strings.HasPrefix(strings.TrimSuffix(o, "*"), name) {
			return strings.TrimSuffix(o, "*")
		}
	}
	var match string
	for _, l := range lists {
		for _, o := range l {
			if strings.HasPrefix(o, name) && strings.HasPrefix(o, "--") {
				if match != "" && match != o {
					return name // ambiguous: the program refuses it
				}
				match = o
			}
		}
	}
	if match != "" {
		return match
	}
	return name
}

// option judges one option word whose canonical name is name.
func (c *argCheck) option(word, name string, args []string, i int) (int, error) {
	r := c.r
	base, val, hasVal := strings.Cut(word, "=")
	if c.r.SingleDash {
		name = base
	}
	if matches(r.Deny, name) {
		return i, c.deny(word, "is an option class policy refuses for "+c.prog)
	}
	if len(r.Allow) > 0 && !matches(r.Allow, name) {
		return i, c.deny(word, "is not among the options allowed for "+c.prog)
	}
	if !hasVal && matches(r.Value, name) && i+1 < len(args) {
		i++
		val, hasVal = args[i], true
	}
	if hasVal {
		c.pathOption(name, val)
	}
	return i, nil
}

// bundle judges a short-option word: every letter is an option until one
// that takes a value, which takes the rest of the word or the next word.
func (c *argCheck) bundle(a string, args []string, i int) (int, error) {
	for j := 1; j < len(a); j++ {
		opt := "-" + a[j:j+1]
		if matches(c.r.Deny, opt) {
			return i, c.deny(a, "contains "+opt+", an option class policy refuses for "+c.prog)
		}
		if len(c.r.Allow) > 0 && !matches(c.r.Allow, opt) {
			return i, c.deny(a, "contains "+opt+", not among the options allowed for "+c.prog)
		}
		if strings.IndexByte(c.r.ValueShort, a[j]) >= 0 {
			val := a[j+1:]
			if val == "" && i+1 < len(args) {
				i++
				val = args[i]
			}
			c.pathOption(opt, val)
			return i, nil
		}
	}
	return i, nil
}

func (c *argCheck) pathOption(name, val string) {
	switch {
	case matches(c.r.WriteOptions, name):
		c.writes = append(c.writes, val)
	case matches(c.r.ReadOptions, name):
		c.reads = append(c.reads, val)
	}
}

func (c *argCheck) operand(a string) error {
	for _, pre := range c.r.DenyPrefix {
		if strings.HasPrefix(a, pre) {
			return c.deny(firstLine(a), "starts with "+pre+", which makes "+c.prog+" run commands")
		}
	}
	if len(c.r.AllowOperands) > 0 && !matchAny(c.r.AllowOperands, a) {
		return c.deny(firstLine(a), "is not among the arguments "+c.prog+" accepts here ("+strings.Join(c.r.AllowOperands, ", ")+")")
	}
	c.operands = append(c.operands, a)
	return nil
}

func matchAny(pats []string, a string) bool {
	for _, p := range pats {
		if ok, _ := filepath.Match(p, a); ok {
			return true
		}
	}
	return false
}

// paths checks the collected operands and path options against the areas.
func (c *argCheck) paths(p *Policy, dir string) error {
	ops := c.operands
	if len(ops) > c.r.SkipOperands {
		ops = ops[c.r.SkipOperands:]
	} else {
		ops = nil
	}
	reads, writes := c.reads, c.writes
	switch c.r.Paths {
	case PathsRead:
		reads = append(reads, ops...)
	case PathsWrite:
		writes = append(writes, ops...)
	case PathsLastWrite:
		if n := len(ops); n > 0 {
			reads, writes = append(reads, ops[:n-1]...), append(writes, ops[n-1])
		}
	}
	abs := func(s string) string {
		if filepath.IsAbs(s) {
			return s
		}
		return filepath.Join(dir, s)
	}
	for _, s := range reads {
		if s == "-" {
			continue
		}
		if err := p.CheckRead(abs(s)); err != nil {
			return err
		}
	}
	for _, s := range writes {
		if err := p.CheckWrite(abs(s)); err != nil {
			return err
		}
	}
	return nil
}

// matches reports whether name is in list, where "x*" is a prefix entry.
func matches(list []string, name string) bool {
	for _, o := range list {
		if o == name || (strings.HasSuffix(o, "*") && strings.HasPrefix(name, o[:len(o)-1])) {
			return true
		}
	}
	return false
}
