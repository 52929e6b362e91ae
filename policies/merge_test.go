package policies

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func loadT(t *testing.T, dir string) *Set {
	t.Helper()
	s, err := LoadDir(dir)
	if err != nil {
		t.Fatalf("load %s: %v", dir, err)
	}
	return s
}

func examplesT(t *testing.T) *Set {
	t.Helper()
	dir := t.TempDir()
	if err := WriteExamples(dir); err != nil {
		t.Fatal(err)
	}
	return loadT(t, dir)
}

// testDecide is the truth-table helper: one row, one question.
func testDecide(t *testing.T, s *Set, class, act, obj string, want bool, wantClass, wantRule string) {
	t.Helper()
	d := s.Decide(class, act, obj)
	if d.Allow != want || d.Class != wantClass || d.Rule != wantRule {
		t.Errorf("Decide(%s, %s, %s) = %v by %q in %q (%s), want %v by %q in %q",
			class, act, obj, d.Allow, d.Rule, d.Class, d.Reason, want, wantRule, wantClass)
	}
	ok, _, err := s.DecideCasbin(class, act, obj)
	if err != nil || ok != d.Allow {
		t.Errorf("casbin(%s, %s, %s) = %v, %v; Decide says %v", class, act, obj, ok, err, d.Allow)
	}
}

func TestDecideDiamond(t *testing.T) {
	s := loadT(t, "testdata/diamond")
	tests := []struct {
		class, act, obj string
		want            bool
		byClass, rule   string
	}{
		{"bottom", ActExec, "ls", true, "top", "executables: ls"},
		{"bottom", ActExec, "/bin/ls", true, "top", "executables: ls"},
		{"bottom", ActExec, "emacs", true, "right", "executables: emacs"},
		// allow in one parent, deny in the other: deny wins
		{"bottom", ActExec, "vim", false, "right", "account.deny_executables: vim"},
		{"bottom-rl", ActExec, "vim", false, "right", "account.deny_executables: vim"},
		// even the class's own allow cannot beat an inherited deny
		{"bottom-override", ActExec, "vim", false, "right", "account.deny_executables: vim"},
		{"left", ActExec, "vim", true, "left", "executables: vim"},
		{"bottom", ActExec, "nano", true, "left", "executables: nano"},
		{"bottom", ActExec, "bash", false, "bottom", ""},
		{"top", ActExec, "nano", false, "top", ""},
		{"bottom", ActWrite, "/srv/shared/a/b", true, "left", "account.files.write: /srv/shared/**"},
		{"bottom", ActWrite, "/srv/shared", true, "left", "account.files.write: /srv/shared/**"},
		{"bottom", ActWrite, "/srv/shared/secret/k", false, "right", "account.files.deny: /srv/shared/secret/**"},
		{"bottom", ActRead, "/srv/shared/secret/k", false, "right", "account.files.deny: /srv/shared/secret/**"},
		{"bottom", ActRead, "/srv/shared/a", false, "bottom", ""},
		{"left", ActWrite, "/srv/shared/secret/k", true, "left", "account.files.write: /srv/shared/**"},
		{"nope", ActExec, "ls", false, "nope", ""},
	}
	for _, tt := range tests {
		t.Run(tt.class+"/"+tt.act+"/"+tt.obj, func(t *testing.T) {
			testDecide(t, s, tt.class, tt.act, tt.obj, tt.want, tt.byClass, tt.rule)
		})
	}
}

func TestLimitsDiamond(t *testing.T) {
	s := loadT(t, "testdata/diamond")
	tests := []struct {
		class, key, want string
		from             string
		rule             MergeRule
	}{
		{"bottom", "session.max_processes", "40", "left", RuleMin},
		{"bottom", "session.max_usage_time", "1h0m0s", "right", RuleMin},
		{"bottom", "session.accounting.price_per_hour", "3", "left", RuleNearest},
		{"bottom-rl", "session.accounting.price_per_hour", "5", "right", RuleNearest},
		{"bottom", "session.on_violation.cpu", "end_session", "right", RuleSeverity},
		{"bottom-rl", "session.on_violation.cpu", "end_session", "right", RuleSeverity},
		{"bottom", "application.sandbox.network", "false", "right", RuleAnd},
		{"left", "application.sandbox.network", "true", "left", RuleAnd},
		{"bottom-override", "session.max_processes", "500", "bottom-override", RuleOverride},
		{"bottom-override", "session.max_usage_time", "1h0m0s", "right", RuleMin},
		// below an override, most-restrictive applies again from the overridden value
		{"leaf", "session.max_processes", "500", "bottom-override", RuleMin},
	}
	for _, tt := range tests {
		t.Run(tt.class+"/"+tt.key, func(t *testing.T) {
			c, _ := s.Class(tt.class)
			if got := c.flat[tt.key]; got != tt.want {
				t.Errorf("%s = %q, want %q", tt.key, got, tt.want)
			}
			o := c.Origins()[tt.key]
			if o.Class != tt.from || o.Rule != tt.rule {
				t.Errorf("origin = %+v, want class %s rule %s", o, tt.from, tt.rule)
			}
		})
	}
	c, _ := s.Class("bottom")
	if got := c.Origins()["session.max_processes"].Candidates; len(got) != 2 ||
		!strings.HasPrefix(got[0], "left=40 (left.yaml:") || !strings.HasPrefix(got[1], "right=60 (right.yaml:") {
		t.Errorf("candidates = %q, want left=40 and right=60 with their lines", got)
	}
	l, _ := s.Limits("bottom")
	if l.Session.MaxProcesses != 40 || l.Session.MaxUsageTime.D() != time.Hour || l.Sandbox.Network ||
		l.Session.OnViolation.CPU != "end_session" || l.Session.Accounting.PricePerHour != 3 {
		t.Errorf("typed limits = %+v", l)
	}
}

// TestBetterTruthTable is the per-rule truth table of two defined values.
func TestBetterTruthTable(t *testing.T) {
	n := func(x float64) val { return val{n: x} }
	s := func(x string) val { return val{s: x} }
	b := func(x bool) val { return val{b: x} }
	tests := []struct {
		rule MergeRule
		a, b val
		want bool // a beats b
	}{
		{RuleMin, n(1), n(2), true},
		{RuleMin, n(2), n(1), false},
		{RuleMin, n(0), n(5), false}, // 0 = no limit never wins
		{RuleMin, n(5), n(0), true},
		{RuleMin, n(3), n(3), false}, // tie keeps the nearest
		{RuleSeverity, s("end_session"), s("warn"), true},
		{RuleSeverity, s("warn"), s("renice"), false},
		{RuleSeverity, s("deny"), s("confine"), true},
		{RuleAnd, b(false), b(true), true},
		{RuleAnd, b(true), b(false), false},
		{RuleAnd, b(true), b(true), false},
	}
	for _, tt := range tests {
		t.Run(string(tt.rule), func(t *testing.T) {
			if got := better(&attrSpec{rule: tt.rule, kind: kInt}, tt.a, tt.b); got != tt.want {
				t.Errorf("better(%+v, %+v) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestExamplesTruthTable(t *testing.T) {
	s := examplesT(t)
	tests := []struct {
		class, act, obj string
		want            bool
		byClass, rule   string
	}{
		{"engineering", ActExec, "ls", true, "base", "executables: ls"},
		{"engineering", ActExec, "cat", true, "base", "executables: cat"},
		{"engineering", ActExec, "vim", true, "engineering", "executables: vim"},
		{"engineering", ActExec, "bash", false, "base", "account.deny_executables: bash"},
		{"engineering", ActExec, "/bin/sh", false, "base", "account.deny_executables: sh"},
		{"finance", ActExec, "bash", false, "base", "account.deny_executables: bash"},
		{"finance", ActExec, "sh", false, "base", "account.deny_executables: sh"},
		{"finance", ActExec, "vim", false, "finance", ""},
		{"finance", ActExec, "awk", true, "finance", "executables: awk"},
		{"guest", ActExec, "cp", false, "guest", "account.deny_executables: cp"},
		{"appgroup-b", ActExec, "kill", false, "appgroup-b", "account.deny_executables: kill"},
		{"appgroup-a", ActExec, "kill", true, "sysadmin-base", "executables: kill"},
		{"appgroup-a", ActExec, "/opt/appa/bin/appactl", true, "appgroup-a", "executables: /opt/appa/bin/appactl"},
		{"appgroup-a", ActExec, "/opt/appb/bin/appbctl", false, "appgroup-a", ""},
		{"appgroup-a", ActWrite, "/srv/appa/data/x", true, "appgroup-a", "account.files.write: /srv/appa/**"},
		{"appgroup-a", ActWrite, "/srv/appb/data/x", false, "appgroup-a", ""},
		{"engineering", ActRead, "~/notes.txt", true, "base", "account.files.read: ~/**"},
		{"engineering", ActRead, "~/.ssh/authorized_keys", false, "base", "account.files.deny: ~/.ssh/**"},
		{"engineering", ActRead, "/etc/shadow", false, "base", "account.files.deny: /etc/shadow"},
		{"sysadmin-base", ActRead, "/etc/shadow", false, "base", "account.files.deny: /etc/shadow"},
		{"sysadmin-base", ActRead, "/etc/passwd", true, "sysadmin-base", "account.files.read: /etc/**"},
		{"engineering", ActEnv, "LC_ALL", true, "base", "account.env: LC_*"},
		{"engineering", ActEnv, "EDITOR", true, "engineering", "account.env: EDITOR"},
		{"finance", ActEnv, "EDITOR", false, "finance", ""},
		{"engineering", ActEnv, "LD_PRELOAD", false, "engineering", ""},
		{"engineering", ActForward, "127.0.0.1:8080", false, "engineering", ""},
	}
	for _, tt := range tests {
		t.Run(tt.class+"/"+tt.act+"/"+tt.obj, func(t *testing.T) {
			testDecide(t, s, tt.class, tt.act, tt.obj, tt.want, tt.byClass, tt.rule)
		})
	}
	for _, name := range s.Names() {
		c, _ := s.Class(name)
		if name != "base" && c.AccountPool.Prefix == "" {
			t.Errorf("%s has no account pool", name)
		}
		if len(c.AccountPool.Prefix) > 6 {
			t.Errorf("%s prefix %q longer than 6", name, c.AccountPool.Prefix)
		}
		for _, sh := range []string{"bash", "sh"} {
			if slices.Contains(c.Executables, sh) {
				t.Errorf("%s offers %s", name, sh)
			}
		}
	}
	sys, _ := s.Class("sysadmin-base")
	if sys.Session.MaxUsageTime.D() != 12*time.Hour || sys.Origins()["session.max_usage_time"].Rule != RuleOverride {
		t.Errorf("sysadmin-base usage time = %v by %v, want 12h by override", sys.Session.MaxUsageTime, sys.Origins()["session.max_usage_time"])
	}
	if sys.AccountPool.Kind != "superuser" {
		t.Errorf("sysadmin-base kind = %q", sys.AccountPool.Kind)
	}
}

// TestDecideMatchesCasbin holds the index and the casbin model equal on
// every class × action × object of a grid of questions.
func TestDecideMatchesCasbin(t *testing.T) {
	objs := map[string][]string{
		ActExec:    {"ls", "/bin/ls", "vim", "/usr/bin/vim", "bash", "/bin/bash", "kill", "/opt/appa/bin/appactl", "nano", "emacs", "awk", "cp"},
		ActRead:    {"~/a", "~/.ssh/k", "/etc/shadow", "/etc/passwd", "/srv/appa/x", "/srv/shared/secret/x", "/srv/shared/y", "/tmp/x", "/var/log/syslog"},
		ActWrite:   {"~/a", "/tmp/x", "/srv/appa/x", "/srv/shared/x", "/srv/shared/secret/x", "/etc/x"},
		ActEnv:     {"LANG", "LC_ALL", "EDITOR", "LD_PRELOAD"},
		ActForward: {"127.0.0.1:80"},
	}
	for _, set := range []*Set{examplesT(t), loadT(t, "testdata/diamond")} {
		for _, class := range set.Names() {
			for act, list := range objs {
				for _, o := range list {
					d := set.Decide(class, act, o)
					ok, _, err := set.DecideCasbin(class, act, o)
					if err != nil || ok != d.Allow {
						t.Errorf("%s %s %s: Decide %v (%s), casbin %v %v", class, act, o, d.Allow, d.Rule, ok, err)
					}
				}
			}
		}
	}
}

func TestCombineAndMapping(t *testing.T) {
	s := examplesT(t)
	tests := []struct {
		user   string
		groups []string
		vo     string
		want   []string
	}{
		{"guest42", nil, "", []string{"guest"}},
		{"bob", []string{"finance"}, "", []string{"finance"}},
		{"carol", []string{"developers", "finance"}, "", []string{"engineering", "finance"}},
		{"dave", nil, "eng.example.org", []string{"engineering"}},
		{"erin", []string{"appgroup-a", "appgroup-b"}, "", []string{"appgroup-a", "appgroup-b"}},
		{"nobody", []string{"other"}, "none", nil},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			if got := s.ClassesFor(tt.user, tt.groups, tt.vo); !slices.Equal(got, tt.want) {
				t.Errorf("ClassesFor = %v, want %v", got, tt.want)
			}
		})
	}
	c, err := s.ForUser("carol", []string{"developers", "finance"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "engineering+finance" || c.Session.MaxUsageTime.D() != 2*time.Hour || c.Session.MaxProcesses != 64 {
		t.Errorf("combined %s limits = %v/%d, want 2h/64 (most restrictive)", c.Name, c.Session.MaxUsageTime, c.Session.MaxProcesses)
	}
	for _, e := range []string{"vim", "awk", "ls"} {
		if !c.Decide(ActExec, e).Allow {
			t.Errorf("combined class may not run %s", e)
		}
	}
	if d := c.Decide(ActExec, "bash"); d.Allow || d.Class != "base" {
		t.Errorf("combined bash = %+v, want denied by base", d)
	}
	if c.AccountPool.Prefix != "igeng" {
		t.Errorf("combined pool = %+v, want the first class's", c.AccountPool)
	}
	ab, _ := s.Combine("appgroup-a", "appgroup-b")
	if d := ab.Decide(ActExec, "kill"); d.Allow || d.Class != "appgroup-b" {
		t.Errorf("appgroup-a+b kill = %+v, want denied by appgroup-b", d)
	}
	if _, err := s.ForUser("nobody", nil, ""); err == nil {
		t.Error("unmapped user got a class")
	}
	if _, err := s.Combine("engineering", "nope"); err == nil {
		t.Error("Combine with an unknown class succeeded")
	}
}

func TestCheckCommand(t *testing.T) {
	s := examplesT(t)
	tests := []struct {
		class string
		argv  []string
		want  bool
		rule  string // of the first denial
	}{
		{"engineering", []string{"vim", "notes.txt"}, true, ""},
		{"engineering", []string{"vim", "+:!sh", "x"}, false, "account.arguments.vim.deny_options: +*"},
		{"engineering", []string{"vim", "-c", ":!sh"}, false, "account.arguments.vim.deny_options: -c"},
		{"engineering", []string{"vim", "--cm", "x"}, false, "account.arguments.vim.deny_options: --cmd"},
		{"engineering", []string{"vim", "-Rc", "x"}, false, "account.arguments.vim.deny_options: -c"},
		{"engineering", []string{"vim", "--", "-c"}, true, ""},
		{"engineering", []string{"git", "--exec-p=/tmp", "log"}, false, "account.arguments.git.deny_options: --exec-path"},
		{"engineering", []string{"git", "log", "-c", "x=y"}, false, "account.arguments.git.deny_options: -c"},
		{"engineering", []string{"git", "log", "--oneline"}, true, ""},
		{"engineering", []string{"bash", "-c", "ls"}, false, "account.deny_executables: bash"},
		{"finance", []string{"awk", `{system("sh")}`, "f"}, false, "account.arguments.awk.deny_patterns: *system(*"},
		{"finance", []string{"awk", `{print $1 | "sh"}`}, false, "account.arguments.awk.deny_patterns: *|*"},
		{"finance", []string{"awk", "-F,", "{print $1}", "data.csv"}, true, ""},
		{"sysadmin-base", []string{"systemctl", "status", "ssh.service"}, true, ""},
		{"sysadmin-base", []string{"systemctl", "restart", "ssh.service"}, false, "account.arguments.systemctl.allow_patterns"},
		{"sysadmin-base", []string{"journalctl", "--vacuum-s=1M"}, false, "account.arguments.journalctl.deny_options: --vacuum-size"},
	}
	for _, tt := range tests {
		t.Run(tt.class+"/"+strings.Join(tt.argv, " "), func(t *testing.T) {
			c, _ := s.Class(tt.class)
			d, denied := Denied(c.CheckCommand(tt.argv))
			if denied == tt.want || d.Rule != tt.rule {
				t.Errorf("denied=%v by %q (%s), want allowed=%v by %q", denied, d.Rule, d.Reason, tt.want, tt.rule)
			}
			if denied && (d.File == "" || d.Line == 0) {
				t.Errorf("denial %+v does not say where its rule is", d)
			}
		})
	}
}

func TestGlobPath(t *testing.T) {
	tests := []struct {
		pat, name string
		want      bool
	}{
		{"/data/**", "/data", true},
		{"/data/**", "/data/a/b/c", true},
		{"/data/**", "/database", false},
		{"/data/*/x", "/data/a/x", true},
		{"/data/*/x", "/data/a/b/x", false},
		{"/data/**/x", "/data/x", true},
		{"/data/**/x", "/data/a/b/x", true},
		{"/data/**/x", "/data/a/b/y", false},
		{"~/**", "~", true},
		{"~/**", "~/.ssh/id", true},
		{"~/.ssh/**", "~/.sshx", false},
		{"/etc/shadow", "/etc/shadow", true},
		{"/etc/sh?dow", "/etc/shadow", true},
		{"/etc/*", "/etc", false},
		{"/a/b", "/a", false},
		{"/a", "/a/b", false},
	}
	for _, tt := range tests {
		t.Run(tt.pat+"~"+tt.name, func(t *testing.T) {
			if got := globPath(tt.pat, tt.name); got != tt.want {
				t.Errorf("globPath(%q, %q) = %v, want %v", tt.pat, tt.name, got, tt.want)
			}
		})
	}
}

func TestCombinedName(t *testing.T) {
	s := examplesT(t)
	c, ok := s.Class("engineering+finance")
	if !ok || c.Session.MaxProcesses != 64 {
		t.Fatalf("engineering+finance = %v, %v", c, ok)
	}
	if d := s.Decide("engineering+finance", ActExec, "awk"); !d.Allow || d.Class != "finance" {
		t.Errorf("awk for engineering+finance = %+v", d)
	}
	if _, ok := s.Class("engineering+nope"); ok {
		t.Error("a combination with an unknown class exists")
	}
	if l, ok := s.Limits("finance+guest"); !ok || l.Session.MaxUsageTime.D() != 30*time.Minute {
		t.Errorf("finance+guest limits = %+v, %v", l, ok)
	}
}
