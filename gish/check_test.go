package gish

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testPolicy allows ls and cat (as found on this machine) for class "tc".
func testPolicy(t *testing.T) *Policy {
	t.Helper()
	exes := map[string]string{}
	for _, n := range []string{"ls", "cat", "id", "sleep"} {
		p, err := filepath.EvalSymlinks("/bin/" + n)
		if err != nil {
			t.Skipf("needs /bin/%s", n)
		}
		exes[n] = p
	}
	return NewPolicy("tc", exes, []string{t.TempDir()})
}

func TestCheckLine(t *testing.T) {
	p := testPolicy(t)
	tests := []struct {
		line string
		rule string // "" = allowed
		subj string
	}{
		{"ls -l", "", ""},
		{"echo hi; ls | cat && id", "", ""},
		{"echo $(ls) `cat /etc/hostname`", "", ""},
		{"f() { ls; }; f", "", ""},
		{"'ls' \"cat\" l\"s\"", "", ""},
		{"for i in 1 2; do echo $i; done", "", ""},
		{"x=1", "", ""},
		{"echo ok; bash", RuleExecutables, "bash"},
		{"ls | sh", RuleExecutables, "sh"},
		{"echo $(bash -c id)", RuleExecutables, "bash"},
		{"echo `sh`", RuleExecutables, "sh"},
		{"(python3)", RuleExecutables, "python3"},
		{"if true; then vim; fi", RuleExecutables, "vim"},
		{"cat <(sh)", RuleExecutables, "sh"},
		{"f() { bash; }; f", RuleExecutables, "bash"},
		{"$SHELL", RuleLiteral, "$SHELL"},
		{"x=bash; $x", RuleLiteral, "$x"},
		{"${IFS}sh", RuleLiteral, "${IFS}sh"},
		{"b*sh", RuleLiteral, "b*sh"},
		{"\\bash", RuleLiteral, "\\bash"},
		{"eval ls", RuleBuiltins, "eval"},
		{"exec ls", RuleBuiltins, "exec"},
		{"command bash", RuleBuiltins, "command"},
		{"source /etc/profile", RuleBuiltins, "source"},
		{". /etc/profile", RuleBuiltins, "."},
		{"trap 'sh' EXIT", RuleBuiltins, "trap"},
		{"/bin/sh", RulePath, "/bin/sh"},
		{"./ls", RulePath, "./ls"},
		{"/tmp/ls", RulePath, "/tmp/ls"},
		{"coproc ls", RuleLanguage, "coproc"},
		{"echo 'unterminated", RuleSyntax, ""},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			f, err := Parse(tc.line)
			if err == nil {
				err = p.CheckLine(f, "/tmp")
			}
			if tc.rule == "" {
				if err != nil {
					t.Fatalf("denied: %v", err)
				}
				return
			}
			d, ok := err.(*Denial)
			if !ok {
				t.Fatalf("got %v, want a denial by rule %s", err, tc.rule)
			}
			if d.Rule != tc.rule || (tc.subj != "" && d.Subject != tc.subj) {
				t.Errorf("denial %+v, want rule %s on %q", d, tc.rule, tc.subj)
			}
			if !strings.Contains(d.Error(), "rule: "+tc.rule) {
				t.Errorf("message %q does not name the rule", d.Error())
			}
		})
	}
}

func TestCheckCommandByPath(t *testing.T) {
	p := testPolicy(t)
	if real, err := p.CheckCommand(p.Executables["ls"], "/"); err != nil || real != p.Executables["ls"] {
		t.Errorf("the allowed real path of ls: %q, %v", real, err)
	}
	// A symlink to an allowed program resolves to it; one elsewhere does not.
	dir := t.TempDir()
	os.Symlink(p.Executables["ls"], filepath.Join(dir, "myls"))
	os.Symlink("/bin/sh", filepath.Join(dir, "ls"))
	if _, err := p.CheckCommand("./myls", dir); err != nil {
		t.Errorf("symlink to allowed ls denied: %v", err)
	}
	if _, err := p.CheckCommand("./ls", dir); err == nil {
		t.Error("./ls that is really sh was allowed")
	}
}

func TestCheckWrite(t *testing.T) {
	p := testPolicy(t)
	area := p.WriteAreas[0]
	os.Symlink("/etc", filepath.Join(area, "etc-link"))
	os.Symlink("/etc/nonexistent-igrid", filepath.Join(area, "dangling"))
	tests := []struct {
		path string
		ok   bool
	}{
		{filepath.Join(area, "out.txt"), true},
		{filepath.Join(area, "sub", "..", "x"), true},
		{"/dev/null", true},
		{"/etc/passwd", false},
		{filepath.Join(area, "..", "escape"), false},
		{filepath.Join(area, "etc-link", "x"), false},
		{filepath.Join(area, "dangling"), false},
	}
	for _, tc := range tests {
		err := p.CheckWrite(tc.path)
		if (err == nil) != tc.ok {
			t.Errorf("CheckWrite(%s) = %v, want ok=%v", tc.path, err, tc.ok)
		}
	}
}
