package gish

import (
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// MaxLine is the longest line GISH parses; longer input is refused whole.
const MaxLine = 1 << 20

// Parse parses one input line (or a -c command) as bash.
func Parse(line string) (*syntax.File, error) {
	if len(line) > MaxLine {
		return nil, &Denial{Subject: line[:40] + "…", Rule: RuleSyntax, Reason: "is longer than 1 MiB"}
	}
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(line), "")
	if err != nil {
		return nil, &Denial{Subject: firstLine(line), Rule: RuleSyntax, Reason: "does not parse: " + err.Error()}
	}
	return f, nil
}

// CheckLine walks every command of a parsed line (pipelines, lists,
// substitutions, subshells, function bodies) before anything runs, so that a
// line is denied whole if any part of it is: `echo ok; bash` prints nothing.
// Command names must be plain words here; the interpreter's hooks check the
// final argv again after expansion.
func (p *Policy) CheckLine(f *syntax.File, dir string) error {
	funcs := map[string]bool{}
	syntax.Walk(f, func(n syntax.Node) bool {
		if fd, ok := n.(*syntax.FuncDecl); ok {
			funcs[fd.Name.Value] = true
		}
		return true
	})
	var err error
	syntax.Walk(f, func(n syntax.Node) bool {
		if err != nil {
			return false
		}
		switch n := n.(type) {
		case *syntax.CoprocClause:
			err = &Denial{Subject: "coproc", Rule: RuleLanguage, Reason: "starts a coprocess"}
		case *syntax.CallExpr:
			err = p.checkCall(n, dir, funcs)
		}
		return err == nil
	})
	return err
}

func (p *Policy) checkCall(c *syntax.CallExpr, dir string, funcs map[string]bool) error {
	if len(c.Args) == 0 {
		return nil // assignments only
	}
	name, ok := literal(c.Args[0])
	if !ok {
		return &Denial{Subject: wordText(c.Args[0]), Rule: RuleLiteral,
			Reason: "is not a plain command name (names made by expansion are not allowed)"}
	}
	if funcs[name] {
		return nil
	}
	if _, err := p.CheckCommand(name, dir); err != nil {
		return err
	}
	// Arguments known before expansion are judged now, so that the whole
	// line is refused; the exec hook judges the final argv again.
	args := make([]string, 0, len(c.Args)-1)
	for _, w := range c.Args[1:] {
		a, ok := literal(w)
		if !ok {
			return nil
		}
		args = append(args, a)
	}
	if cmd, err := p.resolveCommand(name, dir); err == nil && cmd.real != "" && !cmd.user {
		return p.CheckArgs(cmd.name, args, dir)
	}
	return nil
}

// literal returns the value of a word made only of literal and quoted
// literal parts: ls, 'ls', "ls", l"s".
func literal(w *syntax.Word) (string, bool) {
	if l, ok := w.Lit(), len(w.Parts) == 1; ok && l == "[" {
		return l, true // the test builtin
	}
	var b strings.Builder
	for _, part := range w.Parts {
		switch x := part.(type) {
		case *syntax.Lit:
			if strings.ContainsAny(x.Value, "*?[\\~") {
				return "", false
			}
			b.WriteString(x.Value)
		case *syntax.SglQuoted:
			b.WriteString(x.Value)
		case *syntax.DblQuoted:
			for _, q := range x.Parts {
				lit, ok := q.(*syntax.Lit)
				if !ok {
					return "", false
				}
				b.WriteString(lit.Value)
			}
		default:
			return "", false
		}
	}
	return b.String(), b.Len() > 0
}

func wordText(w *syntax.Word) string {
	var b strings.Builder
	syntax.NewPrinter().Print(&b, w)
	return b.String()
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return s
}
