package policies

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func problemsText(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.String() + "\n")
	}
	return b.String()
}

func TestCheckGolden(t *testing.T) {
	if ps := Check("examples"); len(ps) != 0 {
		t.Fatalf("examples have problems:\n%s", problemsText(ps))
	}
	ps := Check("testdata/broken")
	if len(ps) < 5 {
		t.Errorf("want every problem of the broken set, got %d", len(ps))
	}
	golden(t, "check-broken.txt", problemsText(ps))
	if ps := Check(filepath.Join(t.TempDir(), "missing")); len(ps) != 1 {
		t.Errorf("missing dir: %v", ps)
	}
}

func TestExplainGolden(t *testing.T) {
	s := loadT(t, "examples")
	tests := []struct {
		name string
		req  ExplainRequest
	}{
		{"explain-engineering-vim-cmd.txt", ExplainRequest{Class: "engineering", Argv: []string{"vim", "-R", "+:!sh", "notes.txt"}}},
		{"explain-engineering-git.txt", ExplainRequest{Class: "engineering", Argv: []string{"git", "log", "--oneline"}}},
		{"explain-finance-bash.txt", ExplainRequest{Class: "finance", Argv: []string{"bash", "-c", "ls"}}},
		{"explain-user-carol.txt", ExplainRequest{User: "carol", Groups: []string{"developers", "finance"}, Argv: []string{"awk", "{print $1}", "data.csv"}}},
		{"explain-class-and-user.txt", ExplainRequest{Class: "finance", User: "guest7", Argv: []string{"bc"}}},
		{"explain-sysadmin-systemctl.txt", ExplainRequest{Class: "appgroup-a", Argv: []string{"/usr/bin/systemctl", "restart", "appa.service"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Explain(s, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, e.String())
		})
	}
	for _, bad := range []ExplainRequest{{Class: "nope", Argv: []string{"ls"}}, {Class: "base"}, {User: "nobody", Argv: []string{"ls"}}, {Argv: []string{"ls"}}} {
		if _, err := Explain(s, bad); err == nil {
			t.Errorf("Explain(%+v) succeeded", bad)
		}
	}
}

func TestShowGolden(t *testing.T) {
	for _, tt := range []struct{ dir, class string }{
		{"examples", "engineering"}, {"examples", "appgroup-b"}, {"examples", "guest"}, {"testdata/diamond", "bottom"},
	} {
		t.Run(tt.class, func(t *testing.T) {
			out, err := Show(loadT(t, tt.dir), tt.class)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "show-"+tt.class+".txt", out)
		})
	}
	if _, err := Show(loadT(t, "examples"), "nope"); err == nil {
		t.Error("Show of an unknown class succeeded")
	}
}

func TestDiffGolden(t *testing.T) {
	old := loadT(t, "examples")
	src := old.Sources()
	src["finance.yaml"] = []byte(strings.Replace(string(src["finance.yaml"]), "max_processes: 64", "max_processes: 32", 1))
	src["base.yaml"] = []byte(strings.Replace(string(src["base.yaml"]), "  - uname\n", "", 1))
	delete(src, "guest.yaml")
	src["auditor.yaml"] = []byte("class: auditor\ninherits: [base]\ngroups: [audit]\naccount_pool: {prefix: igaud, size: 1}\n")
	n, err := LoadFiles(src)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "diff-examples.txt", Diff(old, n))
	if got := Diff(old, old); got != "no changes\n" {
		t.Errorf("self diff = %q", got)
	}
}

func TestDesktopGolden(t *testing.T) {
	s := loadT(t, "examples")
	for _, class := range []string{"engineering", "finance"} {
		t.Run(class, func(t *testing.T) {
			c, _ := s.Class(class)
			files, hidden := DesktopMenu(c)
			var b strings.Builder
			for _, f := range files {
				b.WriteString("==> " + f.Name + " <==\n" + string(f.Content))
			}
			for _, h := range hidden {
				b.WriteString("hidden: " + h.App.ID + ": " + h.Decision.Reason + " " + h.Decision.Rule + "\n")
			}
			golden(t, "desktop-"+class+".txt", b.String())
		})
	}
	c, _ := s.Class("engineering")
	dir := t.TempDir()
	if _, err := WriteDesktopMenu(c, dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "applications", "igrid-engineering-vim.desktop")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "applications", "igrid-engineering-shell.desktop")); err == nil {
		t.Error("the denied shell got a menu entry")
	}
}

// TestDocExampleLoads keeps the complete class file of docs/policies.md
// valid: it is loaded beside the example base class.
func TestDocExampleLoads(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "policies.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```yaml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no yaml block in docs/policies.md")
	}
	base, _ := Examples.ReadFile("examples/base.yaml")
	s, err := LoadFiles(map[string][]byte{"base.yaml": base, "engineering.yaml": []byte(block)})
	if err != nil {
		t.Fatalf("the documented class file does not load:\n%v", err)
	}
	c, _ := s.Class("engineering")
	if c.Session.CPUMinPercent != 10 || c.AccountPool.Hold.D().Minutes() != 30 || len(c.Application.Installed) != 1 {
		t.Errorf("documented class merged to %+v", c.Session)
	}
}
