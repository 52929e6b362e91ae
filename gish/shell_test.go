package gish

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testShell is a GISH interpreter in this process (as the test's user),
// with a temporary home as its only write area.
func testShell(t *testing.T) (*Shell, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	p := testPolicy(t)
	home := p.WriteAreas[0]
	r, w, _ := os.Pipe()
	w.Close()
	t.Cleanup(func() { r.Close() })
	var out, errb bytes.Buffer
	sh, err := NewShell(ChildConfig{SessionID: "s-t", User: "tuser", Account: "tacct", Class: "tc",
		Node: "tn", Home: home, Start: time.Now(), End: time.Now().Add(90 * time.Minute),
		Executables: p.Executables}, r, &out, &errb)
	if err != nil {
		t.Fatal(err)
	}
	return sh, &out, &errb
}

func TestShellRuns(t *testing.T) {
	tests := []struct {
		line, out, err string
		status         int
	}{
		{"echo hello-$((6*7))", "hello-42\n", "", 0},
		{"echo a b | cat", "a b\n", "", 0},
		{"for i in 1 2 3; do echo -n $i; done", "123", "", 0},
		{"f() { echo in-f; }; f", "in-f\n", "", 0},
		{"x=$(echo sub); echo $x", "sub\n", "", 0},
		{"cat <<EOF\nhere\nEOF", "here\n", "", 0},
		{"case a in a) echo A;; esac", "A\n", "", 0},
		{"false || echo alt", "alt\n", "", 0},
		{"echo ok; bash", "", `denied: "bash" is not allowed for class tc (rule: executables)`, 126},
		{"echo ok && $(echo sh)", "", "rule: literal-names", 126},
		{"echo x > /etc/igrid-test", "", "rule: write-areas", 1},
		{"eval 'echo hi'", "", "rule: builtins", 126},
		{"ls /nonexistent-igrid", "", "No such file", 2},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			sh, out, errb := testShell(t)
			st, _ := sh.Run(context.Background(), tc.line)
			if out.String() != tc.out || !strings.Contains(errb.String(), tc.err) || st != tc.status {
				t.Errorf("got out %q err %q status %d; want out %q err ~%q status %d",
					out, errb, st, tc.out, tc.err, tc.status)
			}
		})
	}
}

func TestShellWritesOnlyInHome(t *testing.T) {
	sh, out, errb := testShell(t)
	sh.Run(context.Background(), "echo kept > notes.txt; cat notes.txt")
	if out.String() != "kept\n" {
		t.Fatalf("write in home: out %q err %q", out, errb)
	}
	if b, _ := os.ReadFile(filepath.Join(sh.cfg.Home, "notes.txt")); string(b) != "kept\n" {
		t.Errorf("notes.txt = %q", b)
	}
}

func TestShellProgramEnvironment(t *testing.T) {
	sh, out, _ := testShell(t)
	sh.Run(context.Background(), "export LD_PRELOAD=/x.so PAGER=sh BASH_ENV=/x GIT_PAGER=sh FOO=1; cat /proc/self/environ")
	env := strings.Split(out.String(), "\x00")
	has := func(kv string) bool {
		for _, e := range env {
			if strings.HasPrefix(e, kv) {
				return true
			}
		}
		return false
	}
	for _, bad := range []string{"LD_PRELOAD=", "PAGER=", "BASH_ENV=", "GIT_PAGER=", "FOO="} {
		if has(bad) {
			t.Errorf("program environment has %s…: %q", bad, env)
		}
	}
	for _, good := range []string{"HOME=" + sh.cfg.Home, "LESSSECURE=1", "SHELL=/usr/sbin/nologin"} {
		if !has(good) {
			t.Errorf("program environment lacks %s: %q", good, env)
		}
	}
}

func TestShellExitAndHelp(t *testing.T) {
	sh, out, _ := testShell(t)
	if _, exit := sh.Run(context.Background(), "help"); exit || !strings.Contains(out.String(), "cat id ls sleep") {
		t.Errorf("help: %q", out)
	}
	if st, exit := sh.Run(context.Background(), "exit 3"); !exit || st != 3 {
		t.Errorf("exit 3 = %d, %v", st, exit)
	}
	if p := sh.prompt(); !strings.HasPrefix(p, "tuser@tn:~ [1h") {
		t.Errorf("prompt %q", p)
	}
}

func TestShellInterruptStopsCommand(t *testing.T) {
	sh, _, _ := testShell(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan int)
	go func() { st, _ := sh.Run(ctx, "sleep 30"); done <- st }()
	select {
	case st := <-done:
		if st != 130 {
			t.Errorf("interrupted sleep status %d, want 130", st)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("interrupt did not stop the command")
	}
}
