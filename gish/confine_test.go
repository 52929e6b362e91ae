package gish

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/igrid/igrid/gish/confine"
)

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

// TestLandlockStopsVimShell: vim is allowed, sh is not. `:!` inside vim
// (commands fed on stdin, so that no argument rule sees them) fails because
// the kernel refuses to exec /bin/sh; the same vim with Landlock off runs
// it. Real SSH, real dynamic account.
func TestLandlockStopsVimShell(t *testing.T) {
	acct := newRealAccount(t)
	exes := resolveExes(t, "vim", "id", "cat")
	// The policy lets SHELL through, or SHELL=nologin would put vim in
	// restricted mode (E145) and the kernel would never be asked.
	script := "set shell=%s\nredir! > vim.log\n!id -u > escaped\nqa!\n"
	loader := confineInterp(t, exes["vim"])
	for _, tc := range []struct {
		name    string
		shell   string
		off     bool
		escaped bool
		helper  bool
	}{
		{"confined", "/bin/sh", false, false, false},
		{"confined by the re-exec helper", "/bin/sh", false, false, true},
		// The loader may be executed (every program needs it) but it cannot
		// map /bin/sh: the program directories are not readable.
		{"confined loader trick", loader + "\\ /bin/sh", false, false, false},
		{"control without landlock", "/bin/sh", true, true, false},
		{"control loader trick", loader + "\\ /bin/sh", true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(filepath.Join(acct.home, "escaped"))
			p := DefaultPolicy("engineering", exes, acct.home)
			p.Landlock.Off, p.Landlock.Helper = tc.off, tc.helper
			p.Env = []string{"SHELL"}
			s := startAccountServer(t, acct, p, "")
			out, _ := s.run(t, "export SHELL=/bin/sh; vim -es -i NONE", fmt.Sprintf(script, tc.shell))
			log, _ := os.ReadFile(filepath.Join(acct.home, "vim.log"))
			if strings.Contains(string(log), "E145") {
				t.Fatalf("vim ran restricted, Landlock was not tested: %q", log)
			}
			_, err := os.Stat(filepath.Join(acct.home, "escaped"))
			if escaped := err == nil; escaped != tc.escaped {
				t.Fatalf("vim :!sh escaped=%v, want %v (output %q)", escaped, tc.escaped, out)
			}
			if !tc.escaped && !strings.Contains(string(log), "Cannot execute shell") && !strings.Contains(string(log), "shell returned 127") {
				t.Errorf("vim's log %q does not show the shell failing to start", log)
			}
			if tc.escaped {
				b, _ := os.ReadFile(filepath.Join(acct.home, "escaped"))
				if strings.TrimSpace(string(b)) != itoa(acct.uid) {
					t.Errorf("control sh ran as %q, want uid %d", b, acct.uid)
				}
			}
		})
	}
}

func itoa(u uint32) string { return strings.TrimSpace(strings.Repeat(" ", 0) + uitoa(u)) }

func uitoa(u uint32) string {
	if u == 0 {
		return "0"
	}
	var b []byte
	for u > 0 {
		b = append([]byte{byte('0' + u%10)}, b...)
		u /= 10
	}
	return string(b)
}

// confineInterp is the ELF loader of prog.
func confineInterp(t *testing.T, prog string) string {
	t.Helper()
	in := confine.Interpreters([]string{prog})
	if len(in) == 0 {
		t.Skipf("%s has no ELF interpreter", prog)
	}
	return in[0]
}

// TestLandlockMissingAtLogin: a kernel below the policy's minimum ABI
// refuses the login with the reason, unless the policy makes Landlock
// optional; then the user is told and programs run unconfined.
func TestLandlockMissingAtLogin(t *testing.T) {
	abi := confine.ABI()
	for _, optional := range []bool{false, true} {
		t.Run(fmt.Sprintf("optional=%v", optional), func(t *testing.T) {
			p := testPolicy(t)
			p.Landlock.MinABI, p.Landlock.Optional = abi+1, optional
			sh, out, errb := shellWith(t, p, "")
			err := sh.checkLandlock()
			want := fmt.Sprintf("Landlock ABI %d; class tc needs at least %d", abi, abi+1)
			if !optional {
				if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "rule: landlock") {
					t.Fatalf("required: %v; want a refusal naming %q", err, want)
				}
				return
			}
			if err != nil || !strings.Contains(errb.String(), want) || !strings.Contains(errb.String(), "without kernel confinement") {
				t.Fatalf("optional: %v, stderr %q; want a warning", err, errb)
			}
			if st, _ := sh.Run(context.Background(), "id -u"); st != 0 || out.Len() == 0 {
				t.Errorf("optional: id -u status %d out %q", st, out)
			}
		})
	}
}
