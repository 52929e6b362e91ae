package gish

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// marker is what a forbidden shell prints when an escape works; the text
// itself never appears in a payload (the shell computes it).
const (
	marker    = `echo ESC$((1+1))APE`
	escaped   = "ESC2APE"
	kernel    = "kernel" // allowed by GISH's checks, stopped by Landlock or the kernel
	eam       = "eam"    // refused by GISH with a named rule
	anyDenial = "any"    // refused one way or the other
)

// escapeCase is one attempt to get out: a command line (or, with stdin,
// input fed to the command) and who must stop it.
type escapeCase struct {
	name, line, stdin, by string
}

func escapeCases(home string) []escapeCase {
	m := marker
	return []escapeCase{
		// vim (GTFOBins: -c, +cmd, :!, :py3, :call system, ex, view, rvim, VIMINIT)
		{"vim -c", `vim -c ':!/bin/sh -c "` + m + `"' -c ':qa!'`, "", eam},
		{"vim +cmd", `vim '+!/bin/sh -c "` + m + `"'`, "", eam},
		{"vim --cmd prefix", `vim --cm ':!sh' -es`, "", eam},
		{"vim -S", `vim -S x.vim`, "", eam},
		{"vim -u", `vim -u x.vim -es`, "", eam},
		{"ex +cmd", `ex '+!sh'`, "", eam},
		{"view +cmd", `view '+!sh'`, "", eam},
		{"vim :! on stdin", `export SHELL=/bin/sh; vim -es -i NONE`, "set shell=/bin/sh\n!" + m + "\nqa!\n", kernel},
		{"vim :call system", `vim -es -i NONE`, "set shell=/bin/sh\nput =system('" + m + "')\n%print\nqa!\n", kernel},
		{"vim :py3 os.system", `vim -es -i NONE`, "py3 import os; os.system('/bin/sh -c \"" + m + "\"')\nqa!\n", kernel},
		{"vim :py3 execv", `vim -es -i NONE`, "py3 import os; os.execv('/bin/sh', ['sh', '-c', '" + m + "'])\nqa!\n", kernel},
		{"vim loader trick", `vim -es -i NONE`, "set shell=/lib64/ld-linux-x86-64.so.2\\ /bin/sh\n!" + m + "\nqa!\n", kernel},
		{"vim writes outside home", `vim -es -i NONE`, "put ='" + escaped + "'\nw! /etc/igrid-escape\nqa!\n", kernel},
		{"VIMINIT", `export VIMINIT=':!sh'; vim -es -i NONE`, "qa!\n", kernel},
		// less
		{"less +!", `less '+!sh' notes.txt`, "", eam},
		{"less +cmd prefix", `less +'|sh' notes.txt`, "", eam},
		{"less lesskey", `less -k keys notes.txt`, "", eam},
		{"less log file", `less -O /etc/x notes.txt`, "", eam},
		{"LESSOPEN", `export LESSOPEN='|/bin/sh -c "` + m + `"'; less notes.txt`, "", kernel},
		// find, tar (rules shipped; not in the example classes)
		{"find -exec", `find . -exec /bin/sh -c '` + m + `' \;`, "", eam},
		{"find -execdir", `find . -execdir sh \;`, "", eam},
		{"tar checkpoint-action", `tar -cf /dev/null notes.txt --checkpoint=1 --checkpoint-action=exec=sh`, "", eam},
		{"tar to-command", `tar -xf a.tar --to-command=sh`, "", eam},
		// awk
		{"awk system", `awk 'BEGIN{system("` + m + `")}'`, "", eam},
		{"awk pipe", `awk 'BEGIN{print "x" | "sh"}'`, "", eam},
		{"awk getline", `awk 'BEGIN{"sh -c id" | getline x; print x}'`, "", eam},
		{"awk -f file", `echo 'BEGIN{system("` + strings.ReplaceAll(m, `"`, `\"`) + `")}' > prog.awk; awk -f prog.awk`, "", kernel},
		// python3
		{"python3 -c", `python3 -c 'import os; os.system("` + m + `")'`, "", eam},
		{"python3 -Ic bundle", `python3 -Ic 'import os; os.system("sh")'`, "", eam},
		{"python3 script os.system", `echo 'import os; os.system("/bin/sh -c \"` + strings.ReplaceAll(m, `"`, `\\\"`) + `\"")' > s.py; python3 s.py`, "", kernel},
		{"python3 script execv", `echo 'import os; os.execv("/bin/sh", ["sh"])' > e.py; python3 e.py`, "", kernel},
		{"python3 reads sh", `echo 'open("/usr/bin/dash","rb").read(); print("ESC" + "2APE")' > r.py; python3 r.py`, "", kernel},
		{"python3 writes outside", `echo 'open("/etc/igrid-escape","w").write("x"); print("ESC" + "2APE")' > w.py; python3 w.py`, "", kernel},
		{"PYTHONSTARTUP", `export PYTHONSTARTUP=x.py PYTHONINSPECT=1; python3 s.py`, "", kernel},
		// git
		{"git -c pager", `git -c core.pager='sh -c "` + m + `"' log`, "", eam},
		{"git --exec-path", `git --exec-path=. log`, "", eam},
		{"git ext transport", `git clone 'ext::sh -c id' x`, "", eam},
		{"git alias from config", `printf '%s\n' '[alias]' '  x = !sh -c "` + m + `"' > .gitconfig; git x`, "", kernel},
		{"GIT_PAGER", `export GIT_PAGER='sh -c id' PAGER=sh; git help config`, "", kernel},
		// make, gcc, sort, date, diff
		{"make --eval", `make --eval='x:; sh'`, "", eam},
		{"make recipe", `printf 'all:\n\t` + m + `\n' > Makefile; make`, "", kernel},
		{"gcc -wrapper", `gcc -wrapper /bin/sh,-c,'` + m + `' x.c`, "", eam},
		{"gcc -B", `gcc -B./ x.c`, "", eam},
		{"gcc @file", `gcc @opts`, "", eam},
		{"gcc built binary", `printf 'int main(){return 0;}\n' > t.c; gcc -o t t.c; ./t`, "", anyDenial},
		{"sort compress-program", `sort --compress-prog=sh notes.txt`, "", eam},
		{"date -f secret", `date -f /etc/shadow`, "", kernel},
		// forbidden programs and builtins
		{"sh", `sh -c '` + m + `'`, "", eam},
		{"bash after echo", `echo ok; bash`, "", eam},
		{"env", `env sh`, "", eam},
		{"eval", `eval 'sh -c id'`, "", eam},
		{"exec", `exec sh`, "", eam},
		{"command", `command sh`, "", eam},
		{"builtin", `builtin eval sh`, "", eam},
		{"source", `echo sh > x.sh; source x.sh`, "", eam},
		{"dot", `. ./x.sh`, "", eam},
		{"trap", `trap 'sh' EXIT`, "", eam},
		{"alias", `alias ls=sh; ls`, "", eam},
		{"function named ls", `ls() { sh; }; ls`, "", eam},
		{"coproc", `coproc sh`, "", eam},
		{"ulimit", `ulimit -u unlimited`, "", eam},
		// shell-language tricks
		{"command substitution", `echo $(sh -c id)`, "", eam},
		{"backticks", "echo `sh -c id`", "", eam},
		{"process substitution", `cat <(sh -c id)`, "", eam},
		{"subshell", `(sh)`, "", eam},
		{"IFS", `${IFS}sh`, "", eam},
		{"variable as command", `x=sh; $x -c id`, "", eam},
		{"quoted name", `s''h -c id`, "", eam},
		{"backslash", `\sh -c id`, "", eam},
		{"ansi-c quoting", `$'\x73h' -c id`, "", eam},
		{"glob name", `/bin/s? -c id`, "", eam},
		{"brace expansion", `{sh,-c,id}`, "", eam},
		{"newline", "echo ok\nsh -c id", "", eam},
		{"here-string", `cat <<< "$(sh -c id)"`, "", eam},
		{"PATH", `PATH=/usr/bin/x:$PATH; sh`, "", eam},
		{"arithmetic command", `$((0))sh`, "", eam},
		{"if body", `if true; then sh; fi`, "", eam},
		// paths and symlinks
		{"absolute sh", `/bin/sh -c id`, "", eam},
		{"dotdot sh", `/usr/bin/../bin/sh -c id`, "", eam},
		{"symlink in home", `./sh-link -c id`, "", eam},
		{"dir symlink", `./bin-link/sh -c id`, "", eam},
		{"magic link", `/proc/self/root/bin/sh -c id`, "", eam},
		{"the helper", `/proc/self/exe gish-exec '{"off":true}' /bin/sh sh`, "", eam},
		{"copy sh", `cp /bin/sh ./mysh; ./mysh`, "", eam},
		{"cat sh", `cat /usr/bin/dash > mysh`, "", eam},
		{"cat through symlink", `cat bin-link/dash`, "", eam},
		{"redirect outside", `echo x > /etc/igrid-escape`, "", anyDenial},
		{"redirect through symlink", `echo x > etc-link/igrid-escape`, "", anyDenial},
		{"redirect dotdot", `echo x > ../igrid-escape`, "", anyDenial},
		{"read secret", `cat < /etc/shadow`, "", anyDenial},
		{"touch outside", `touch /etc/igrid-escape`, "", eam},
		{"mv home away", `mv notes.txt /tmp/igrid-escape`, "", eam},
		{"rm outside", `rm -rf /etc/igrid-x`, "", eam},
		// environment
		{"LD_PRELOAD", `export LD_PRELOAD=./x.so; id`, "", kernel},
		{"BASH_ENV", `export BASH_ENV=x.sh ENV=x.sh; id`, "", kernel},
		// control characters and size
		{"NUL", "s\x00h -c id", "", eam},
		{"control char", "s\x01h -c id", "", eam},
		{"carriage return", "echo ok\rsh -c id", "", ""}, // one word for echo, as in bash
		{"escape sequence", "\x1b[2Jsh -c id", "", eam},
	}
}

func TestEscapeSuite(t *testing.T) {
	acct := newRealAccount(t)
	names := []string{"ls", "cat", "head", "tail", "wc", "sort", "uniq", "grep", "cut", "date", "id", "whoami",
		"mkdir", "rmdir", "cp", "mv", "rm", "touch", "sleep", "du", "df", "uname",
		"vim", "make", "gcc", "git", "python3", "diff", "less", "bc", "awk"}
	p := DefaultPolicy("engineering", resolveExes(t, names...), acct.home)
	s := startAccountServer(t, acct, p, "")
	home := acct.home
	os.WriteFile(filepath.Join(home, "notes.txt"), []byte("hello\n"), 0o644)
	for _, l := range [][2]string{{"/bin/sh", "sh-link"}, {"/usr/bin", "bin-link"}, {"/etc", "etc-link"}} {
		os.Symlink(l[0], filepath.Join(home, l[1]))
		os.Lchown(filepath.Join(home, l[1]), int(acct.uid), int(acct.gid))
	}
	os.Chown(filepath.Join(home, "notes.txt"), int(acct.uid), int(acct.gid))
	for _, tc := range escapeCases(home) {
		t.Run(tc.name, func(t *testing.T) {
			drain(s.events)
			out, st := s.run(t, tc.line, tc.stdin)
			if strings.Contains(out, escaped) {
				t.Fatalf("ESCAPE: %q printed the marker: %q", tc.line, out)
			}
			for _, f := range []string{"/etc/igrid-escape", "/tmp/igrid-escape", filepath.Dir(home) + "/igrid-escape"} {
				if _, err := os.Stat(f); err == nil {
					os.Remove(f)
					t.Fatalf("ESCAPE: %q wrote %s", tc.line, f)
				}
			}
			evs := drain(s.events)
			t.Logf("status %d: %s", st, tail(out))
			switch tc.by {
			case eam:
				if st == 0 || !strings.Contains(out, "(rule: ") {
					t.Errorf("%q: status %d, output %q; want a denial naming its rule", tc.line, st, out)
				}
				if !hasDeny(evs) {
					t.Errorf("%q: no deny event in the audit stream: %+v", tc.line, evs)
				}
			case anyDenial:
				if !strings.Contains(out, "rule: ") && !strings.Contains(out, "ermission denied") {
					t.Errorf("%q: output %q names neither a rule nor the kernel's refusal", tc.line, out)
				}
			}
		})
	}
	t.Run("1 MiB line", func(t *testing.T) {
		big := "echo " + strings.Repeat("A", MaxLine) + "; sh -c id\n"
		out, _ := s.run(t, "", big+"echo still-here-$((40+2))\n")
		if !strings.Contains(out, "longer than 1 MiB") || !strings.Contains(out, "still-here-42") {
			t.Errorf("1 MiB line: want a denial and a live shell after it, got %q", tail(out))
		}
	})
	t.Run("programs inherit no descriptor of GISH", func(t *testing.T) {
		out, _ := s.run(t, "ls /proc/self/fd", "")
		if f := strings.Fields(out); len(f) > 4 {
			t.Errorf("a program has descriptors beyond 0-3 (3 is ls's own): %q", out)
		}
	})
	t.Run("gcc compiles under Landlock, its output is unsigned", func(t *testing.T) {
		out, st := s.run(t, `printf 'int main(){return 0;}\n' > t.c; gcc -o t t.c`, "")
		if st != 0 {
			t.Fatalf("gcc under the engineering domain: status %d: %s", st, out)
		}
		out, st = s.run(t, "./t", "")
		if st == 0 || !strings.Contains(out, "rule: signature") {
			t.Errorf("unsigned ./t: status %d, %q; want a signature denial", st, out)
		}
	})
	t.Run("programs get the session's process limit", func(t *testing.T) {
		out, _ := s.run(t, "cat /proc/self/limits", "")
		if !strings.Contains(out, "Max processes             64                   64") {
			t.Errorf("RLIMIT_NPROC not the session's 64: %q", out)
		}
	})
	t.Run("nothing ran as another uid", func(t *testing.T) {
		out, _ := s.run(t, "id -u", "")
		if strings.TrimSpace(out) != fmt.Sprint(acct.uid) {
			t.Errorf("id -u = %q, want %d", out, acct.uid)
		}
	})
}

func drain(ch chan Event) []Event {
	var out []Event
	for {
		select {
		case ev := <-ch:
			out = append(out, ev)
		default:
			return out
		}
	}
}

func hasDeny(evs []Event) bool {
	for _, e := range evs {
		if e.Decision == "deny" && e.Rule != "" && e.Reason != "" && e.Session != "" {
			return true
		}
	}
	return false
}

func tail(s string) string {
	if len(s) > 300 {
		return "…" + s[len(s)-300:]
	}
	return s
}
