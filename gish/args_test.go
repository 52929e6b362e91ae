package gish

import (
	"os"
	"path/filepath"
	"testing"
)

// examplePolicy is DefaultPolicy over every program of the example classes
// that is installed here, with a temporary home.
func examplePolicy(t *testing.T) *Policy {
	t.Helper()
	exes := map[string]string{}
	for _, n := range []string{"ls", "cat", "head", "tail", "wc", "sort", "uniq", "grep", "cut", "date", "id",
		"whoami", "mkdir", "rmdir", "cp", "mv", "rm", "touch", "sleep", "du", "df", "uname",
		"vim", "make", "gcc", "git", "python3", "diff", "less", "bc", "awk", "find", "tar"} {
		if p, err := filepath.EvalSymlinks("/usr/bin/" + n); err == nil {
			exes[n] = p
		}
	}
	return DefaultPolicy("engineering", exes, t.TempDir())
}

func TestCheckArgs(t *testing.T) {
	p := examplePolicy(t)
	home := p.WriteAreas[0]
	os.WriteFile(filepath.Join(home, "notes.txt"), []byte("x\n"), 0o644)
	os.Symlink("/usr/bin", filepath.Join(home, "bin-link"))
	tests := []struct {
		prog string
		args []string
		ok   bool
	}{
		{"ls", []string{"-la", home}, true},
		{"cat", []string{"notes.txt"}, true},
		{"cat", []string{"/etc/hostname"}, true},
		{"cat", []string{"/usr/bin/dash"}, false},       // program dirs are not readable
		{"cat", []string{"bin-link/dash"}, false},       // nor through a symlink
		{"cat", []string{"../../../usr/bin/sh"}, false}, // nor through ..
		{"cat", []string{"/nonexistent-igrid"}, true},   // nothing to read: the program says so
		{"cp", []string{"/etc/hostname", "copy"}, true},
		{"cp", []string{"notes.txt", "/etc/x"}, false},
		{"cp", []string{"-t", "/etc", "notes.txt"}, false},
		{"rm", []string{"-rf", "/etc"}, false},
		{"touch", []string{"bin-link/x"}, false},
		{"sort", []string{"-o", "/etc/x", "notes.txt"}, false},
		{"sort", []string{"--compress-program=sh", "notes.txt"}, false},
		{"sort", []string{"--compress=sh", "notes.txt"}, false}, // GNU prefix
		{"sort", []string{"-k1", "notes.txt"}, true},
		{"grep", []string{"pattern", "notes.txt"}, true},
		{"grep", []string{"-e", "/usr/bin/sh", "notes.txt"}, true}, // a pattern, not a path
		{"vim", []string{"notes.txt"}, true},
		{"vim", []string{"-es"}, true},
		{"vim", []string{"+!sh", "notes.txt"}, false},
		{"vim", []string{"notes.txt", "-c", ":!sh"}, false}, // options after operands
		{"vim", []string{"--cmd", "!sh"}, false},
		{"vim", []string{"--cm", "!sh"}, false},
		{"vim", []string{"-S", "x.vim"}, false},
		{"less", []string{"+!sh", "notes.txt"}, false},
		{"less", []string{"-O", "log", "notes.txt"}, false},
		{"less", []string{"notes.txt"}, true},
		{"find", []string{".", "-name", "*.txt"}, true},
		{"find", []string{".", "-exec", "sh", ";"}, false},
		{"find", []string{".", "-execdir", "sh", ";"}, false},
		{"find", []string{".", "-fprintf", "/etc/x", "%p"}, false},
		{"tar", []string{"--checkpoint=1", "-cf", "a.tar", "notes.txt"}, true},
		{"tar", []string{"--checkpoint-action=exec=sh", "-cf", "a.tar", "notes.txt"}, false},
		{"tar", []string{"--checkp=exec=sh", "-cf", "a.tar", "notes.txt"}, false},
		{"tar", []string{"--to-command=sh", "-xf", "a.tar"}, false},
		{"tar", []string{"-I", "sh", "-cf", "a.tar"}, false},
		{"tar", []string{"-cIsh", "-f", "a.tar"}, false},
		{"git", []string{"-c", "core.pager=sh", "log"}, false},
		{"git", []string{"--exec-path=/tmp", "log"}, false},
		{"git", []string{"clone", "ext::sh -c id", "x"}, false},
		{"git", []string{"status"}, true},
		{"python3", []string{"-c", "import os"}, false},
		{"python3", []string{"-Ic", "import os"}, false}, // short bundle
		{"python3", []string{"-I", "script.py"}, true},
		{"awk", []string{`BEGIN{system("sh")}`}, false},
		{"awk", []string{`BEGIN{print "x" | "sh"}`}, false},
		{"awk", []string{`BEGIN{"sh" | getline}`}, false},
		{"awk", []string{`{print $1}`, "notes.txt"}, true},
		{"gcc", []string{"-wrapper", "/bin/sh,-c", "x.c"}, false},
		{"gcc", []string{"-B/tmp/", "x.c"}, false},
		{"gcc", []string{"-fplugin=./x.so", "x.c"}, false},
		{"gcc", []string{"@opts"}, false},
		{"gcc", []string{"-o", "/etc/x", "x.c"}, false},
		{"gcc", []string{"-O2", "-o", "x", "x.c"}, true},
		{"make", []string{"--eval=x:;sh"}, false},
		{"date", []string{"-s", "now"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.prog+" "+joinArgs(tc.args), func(t *testing.T) {
			if _, ok := p.Executables[tc.prog]; !ok {
				t.Skipf("%s not installed", tc.prog)
			}
			err := p.CheckArgs(tc.prog, tc.args, home)
			if (err == nil) != tc.ok {
				t.Fatalf("CheckArgs = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !IsDenial(err) {
				t.Errorf("not a denial with a reason: %v", err)
			}
		})
	}
}

func joinArgs(a []string) string {
	s := ""
	for i, x := range a {
		if i > 0 {
			s += " "
		}
		s += x
	}
	return s
}

func TestOtherNamesRunAsTheAllowedProgram(t *testing.T) {
	p := examplePolicy(t)
	if _, ok := p.Executables["vim"]; !ok {
		t.Skip("needs vim")
	}
	c, err := p.resolveCommand("ex", "/")
	if err != nil || c.name != "vim" || c.real != p.Executables["vim"] {
		t.Fatalf("ex = %+v, %v; want vim's real path under vim's rules", c, err)
	}
	if err := p.CheckArgs(c.name, []string{"+!sh"}, "/"); err == nil {
		t.Error("ex +!sh passed vim's rules")
	}
	if _, err := p.resolveCommand("sh", "/"); err == nil {
		t.Error("sh allowed")
	}
}
