package policies

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func writeSet(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestExamplesLoad(t *testing.T) {
	dir := t.TempDir()
	if err := WriteExamples(dir); err != nil {
		t.Fatal(err)
	}
	set, err := LoadDir(dir)
	if err != nil {
		t.Fatalf("examples do not load: %v", err)
	}
	if got, want := set.Names(), []string{"appgroup-a", "appgroup-b", "base", "engineering", "finance", "guest", "sysadmin-base"}; !slices.Equal(got, want) {
		t.Fatalf("Names = %v, want %v", got, want)
	}
	eng, _ := set.Class("engineering")
	for _, e := range []string{"ls", "vim", "make"} {
		if !slices.Contains(eng.Executables, e) {
			t.Errorf("engineering lacks %q (inherited or own)", e)
		}
	}
	if eng.Session.MaxUsageTime.D() != 4*time.Hour || eng.Session.MaxProcesses != 128 {
		t.Errorf("engineering limits = %+v, want 4h/128 (own, tighter than base)", eng.Session)
	}
	if !slices.Equal(eng.Chain, []string{"engineering", "base"}) {
		t.Errorf("chain = %v", eng.Chain)
	}
	fin, _ := set.Class("finance")
	if slices.Contains(fin.Executables, "vim") {
		t.Error("finance must not get engineering's vim")
	}
}

func TestMergeMostRestrictive(t *testing.T) {
	dir := writeSet(t, map[string]string{
		"a.yaml": "class: a\nsession: {max_usage_time: 1h, max_processes: 50}\nexecutables: [ls]\n",
		"b.yaml": "class: b\nsession: {max_usage_time: 3h, max_processes: 10}\nexecutables: [cat]\n",
		"c.yaml": "class: c\ninherits: [a, b]\nsession: {max_usage_time: 2h}\nexecutables: [id]\n",
		"d.yaml": "class: d\ninherits: [c]\n",
	})
	set, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		class string
		usage time.Duration
		procs int
		exe   []string
	}{
		{"a", time.Hour, 50, []string{"ls"}},
		{"c", time.Hour, 10, []string{"cat", "id", "ls"}},
		{"d", time.Hour, 10, []string{"cat", "id", "ls"}},
	}
	for _, tt := range tests {
		t.Run(tt.class, func(t *testing.T) {
			c, ok := set.Class(tt.class)
			if !ok {
				t.Fatal("missing")
			}
			if c.Session.MaxUsageTime.D() != tt.usage || c.Session.MaxProcesses != tt.procs {
				t.Errorf("limits = %+v, want %v/%d", c.Session, tt.usage, tt.procs)
			}
			if !slices.Equal(c.Executables, tt.exe) {
				t.Errorf("executables = %v, want %v", c.Executables, tt.exe)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string // substrings of the error
	}{
		{"unknown key", map[string]string{"a.yaml": "class: a\nexecutable: [ls]\n"},
			[]string{"a.yaml:2: executable: unknown key"}},
		{"unknown nested key", map[string]string{"a.yaml": "class: a\nsession:\n  max_usage: 1h\n"},
			[]string{"a.yaml:3: session.max_usage: unknown key"}},
		{"wrong type", map[string]string{"a.yaml": "class: a\nsession:\n  max_processes: many\n"},
			[]string{"a.yaml:3:", "many"}},
		{"bad duration", map[string]string{"a.yaml": "class: a\nsession:\n  max_usage_time: forever\n"},
			[]string{"a.yaml:3:", "forever"}},
		{"negative", map[string]string{"a.yaml": "class: a\nsession:\n  max_processes: -1\n"},
			[]string{"a.yaml:3: session.max_processes: must not be negative (got -1)"}},
		{"sudo rules on a normal pool", map[string]string{"a.yaml": "class: a\naccount_pool:\n  prefix: iga\n  sudo: [/usr/bin/id]\n"},
			[]string{"a.yaml:4: account_pool.sudo: sudo rules need account_pool.kind: superuser"}},
		{"sudo rule with a wildcard", map[string]string{"a.yaml": "class: a\naccount_pool:\n  prefix: iga\n  kind: superuser\n  sudo: [\"/usr/bin/systemctl restart *\"]\n"},
			[]string{`a.yaml:5: account_pool.sudo: "/usr/bin/systemctl restart *" must be an absolute path`}},
		{"relative sudo rule", map[string]string{"a.yaml": "class: a\naccount_pool:\n  prefix: iga\n  kind: superuser\n  sudo: [id]\n"},
			[]string{`a.yaml:5: account_pool.sudo: "id" must be an absolute path`}},
		{"unknown parent", map[string]string{"a.yaml": "class: a\ninherits: [nope]\n"},
			[]string{`a.yaml:2: inherits: unknown parent class "nope"`}},
		{"cycle", map[string]string{"a.yaml": "class: a\ninherits: [b]\n", "b.yaml": "class: b\ninherits: [a]\n"},
			[]string{"inheritance cycle: a → b → a"}},
		{"duplicate", map[string]string{"a.yaml": "class: a\n", "b.yaml": "class: a\n"},
			[]string{`b.yaml:1: class: class "a" is already defined in a.yaml`}},
		{"missing class", map[string]string{"a.yaml": "description: x\n"},
			[]string{"class: missing"}},
		{"bad prefix", map[string]string{"a.yaml": "class: a\naccount_pool: {prefix: Root!, size: 2}\n"},
			[]string{"account_pool.prefix"}},
		{"bad yaml", map[string]string{"a.yaml": "class: [\n"},
			[]string{"a.yaml:"}},
		{"list wanted", map[string]string{"a.yaml": "class: a\nexecutables: ls\n"},
			[]string{`a.yaml:2: executables: want a list, got "ls"`}},
		{"section wanted", map[string]string{"a.yaml": "class: a\nsession: 5\n"},
			[]string{"a.yaml:2: session: want a mapping"}},
		{"override not bool", map[string]string{"a.yaml": "class: a\nsession:\n  override: yes please\n"},
			[]string{"a.yaml:3: session.override: want true or false"}},
		{"unknown action", map[string]string{"a.yaml": "class: a\nsession:\n  on_violation:\n    cpu: explode\n"},
			[]string{`a.yaml:4: session.on_violation.cpu: "explode" is not one of`}},
		{"negative price", map[string]string{"a.yaml": "class: a\nsession:\n  accounting: {price_per_hour: -2.5}\n"},
			[]string{"a.yaml:3: session.accounting.price_per_hour: must not be negative"}},
		{"float for int", map[string]string{"a.yaml": "class: a\nsession:\n  max_processes: 2.5\n"},
			[]string{"a.yaml:3: session.max_processes: want an integer"}},
		{"negative duration", map[string]string{"a.yaml": "class: a\nqos:\n  grace: -5s\n"},
			[]string{"a.yaml:3: qos.grace: must not be negative"}},
		{"mapped without pool", map[string]string{"a.yaml": "class: a\nusers: [alice]\n"},
			[]string{"a.yaml:2: users: users are mapped to this class, so it needs an account_pool"}},
		{"shared prefix", map[string]string{"a.yaml": "class: a\naccount_pool: {prefix: igx}\n", "b.yaml": "class: b\naccount_pool: {prefix: igx}\n"},
			[]string{`b.yaml:2: account_pool.prefix: prefix "igx" is already used by class "a"`}},
		{"bad signer", map[string]string{"a.yaml": "class: a\napplication:\n  user_binaries:\n    trusted_signers: [rsa:xx]\n"},
			[]string{"a.yaml:4: application.user_binaries.trusted_signers:", "ed25519:"}},
		{"relative file pattern", map[string]string{"a.yaml": "class: a\naccount:\n  files:\n    read: [data/**]\n"},
			[]string{"a.yaml:4: account.files.read:"}},
		{"self parent", map[string]string{"a.yaml": "class: a\ninherits: [a]\n"},
			[]string{"a.yaml:2: inherits: a class cannot inherit itself"}},
		{"duplicate key", map[string]string{"a.yaml": "class: a\nsession:\n  max_processes: 1\n  max_processes: 2\n"},
			[]string{"session.max_processes"}},
		{"merged cpu min above max", map[string]string{"a.yaml": "class: a\nsession: {cpu_max_percent: 50}\n",
			"b.yaml": "class: b\ninherits: [a]\nsession: {cpu_min_percent: 80}\n"},
			[]string{"b.yaml:1: session.cpu_min_percent: merged session.cpu_min_percent=80 (from b) is above session.cpu_max_percent=50 (from a)"}},
		{"unknown argument key", map[string]string{"a.yaml": "class: a\naccount:\n  arguments:\n    vim: {deny: [-c]}\n"},
			[]string{"a.yaml:4: account.arguments.vim.deny: unknown key"}},
		{"app without exec", map[string]string{"a.yaml": "class: a\napplication:\n  installed:\n    - {id: x, name: X}\n"},
			[]string{"application.installed.exec: missing"}},
		{"bad glob", map[string]string{"a.yaml": "class: a\naccount:\n  files:\n    read: [\"/data/[x\"]\n"},
			[]string{`a.yaml:4: account.files.read: "/data/[x" is not a valid glob`}},
		{"all problems at once", map[string]string{"a.yaml": "class: a\nfoo: 1\n", "b.yaml": "class: b\nbar: 2\n"},
			[]string{"a.yaml:2: foo", "b.yaml:2: bar"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadDir(writeSet(t, tt.files))
			if err == nil {
				t.Fatal("loaded, want an error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestSuperuserWithoutSudoLoads: a superuser pool may list no sudo rules
// (policy files written before the rules existed keep loading).
func TestSuperuserWithoutSudoLoads(t *testing.T) {
	set, err := LoadDir(writeSet(t, map[string]string{"a.yaml": "class: a\naccount_pool:\n  prefix: iga\n  kind: superuser\n"}))
	if err != nil {
		t.Fatalf("LoadDir: %v", err)
	}
	if c, ok := set.Class("a"); !ok || c.AccountPool.Kind != "superuser" || len(c.AccountPool.Sudo) != 0 {
		t.Fatalf("class a: %+v, %v", c, ok)
	}
}

func TestResolveExecutables(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "tool")
	if err := os.WriteFile(bin, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "alias")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	c := &Class{Name: "x", Executables: []string{"alias", "missing", bin}}
	got, errs := c.ResolveExecutables(dir)
	if got["alias"] != bin || got["tool"] != bin {
		t.Errorf("resolved = %v, want alias and tool → %s", got, bin)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), `"missing"`) {
		t.Errorf("errs = %v, want one about missing", errs)
	}
}

func TestSetExecutablesCached(t *testing.T) {
	s := examplesT(t)
	a, _ := s.Executables("engineering")
	b, _ := s.Executables("engineering")
	if len(a) == 0 || fmt.Sprintf("%p", a) != fmt.Sprintf("%p", b) {
		t.Errorf("table not cached: %d entries", len(a))
	}
	for name := range a {
		if name == "bash" || name == "sh" {
			t.Errorf("engineering table offers %s", name)
		}
	}
	if _, errs := s.Executables("nope"); len(errs) != 1 {
		t.Errorf("unknown class: %v", errs)
	}
}
