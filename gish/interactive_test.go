package gish

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// TestInteractiveShell drives GISH on a PTY over SSH: completion offers
// only allowed commands and readable paths, Ctrl-C stops the running
// program and not the shell, history is recalled and kept in the home.
func TestInteractiveShell(t *testing.T) {
	s := startServer(t, time.Now().Add(-time.Minute), time.Now().Add(time.Hour))
	home := s.b.Home
	os.WriteFile(filepath.Join(home, "notes.txt"), []byte("n\n"), 0o644)
	os.Chown(filepath.Join(home, "notes.txt"), int(s.b.UID), int(s.b.GID))
	cl, err := s.dial("ann", s.signer, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ss, _ := cl.NewSession()
	term := &ptyTerm{ss: ss}
	ss.Stdout, ss.Stderr = term, term
	term.in, _ = ss.StdinPipe()
	if err := ss.RequestPty("xterm", 30, 100, gossh.TerminalModes{gossh.ECHO: 1}); err != nil {
		t.Fatal(err)
	}
	if err := ss.Shell(); err != nil {
		t.Fatal(err)
	}
	typ := func(s string) { fmt.Fprint(term.in, s) }
	term.waitFor(t, "ann@tn:~ [")
	typ("ec\t")
	term.waitFor(t, "echo ")
	typ("hi-$((2+3))\r")
	term.waitFor(t, "hi-5")
	typ("cat no\t")
	term.waitFor(t, "cat notes.txt ")
	typ("\r")
	term.waitFor(t, "\nn\r\n")
	typ("ba\t\x15echo no-bash-$((1))\r") // Tab offers nothing for "ba": bash is not allowed
	term.waitFor(t, "no-bash-1")
	if strings.Contains(term.String(), "bash ") {
		t.Errorf("completion offered bash: %q", term.String())
	}
	typ("sleep 300\r")
	waitProc(t, s.b.UID, "sleep", true)
	typ("\x03")
	waitProc(t, s.b.UID, "sleep", false)
	typ("echo alive-$((1+1))\r")
	term.waitFor(t, "alive-2")
	typ("\x1b[A\r") // history: the last line again
	checkFor(t, func() bool { return strings.Count(term.String(), "alive-2") >= 2 })
	typ("check memory; check cpu; check storage; status\r")
	for _, want := range []string{"memory:", "cpu:", "storage " + home, "processes:", "confinement:"} {
		term.waitFor(t, want)
	}
	// Job control: Ctrl-C reaches the foreground line only, Ctrl-Z stops
	// it and gives the prompt back, bg and fg resume it.
	typ("sleep 302 &\r")
	waitCmdline(t, s.b.UID, "sleep\x00302", true)
	typ("sleep 303\r")
	waitCmdline(t, s.b.UID, "sleep\x00303", true)
	typ("\x03")
	waitCmdline(t, s.b.UID, "sleep\x00303", false)
	waitCmdline(t, s.b.UID, "sleep\x00302", true) // the background job lives on
	typ("sleep 304; echo after-304\r")
	waitCmdline(t, s.b.UID, "sleep\x00304", true)
	typ("\x1a")
	term.waitFor(t, "Stopped  sleep 304")
	term.waitFor(t, "after-304") // the rest of the line goes on, as in bash
	typ("jobs\r")
	term.waitFor(t, "stopped  sleep 304")
	typ("bg\r")
	term.waitFor(t, "sleep 304 &")
	typ("fg\r")
	term.waitFor(t, "\nsleep 304\r\n")
	typ("\x03")
	waitCmdline(t, s.b.UID, "sleep\x00304", false)
	typ("echo still-here\r")
	term.waitFor(t, "\nstill-here")
	typ("fg\r") // the background sleep 302, now in the foreground
	term.waitFor(t, "\nsleep 302\r\n")
	typ("\x03")
	waitCmdline(t, s.b.UID, "sleep\x00302", false)
	typ("sleep 301 &\r")
	waitProc(t, s.b.UID, "sleep", true)
	typ("jobs\r")
	term.waitFor(t, "running  sleep 301")
	typ("fg\r")
	term.waitFor(t, "\nsleep 301\r\n")
	typ("\x03")
	waitProc(t, s.b.UID, "sleep", false)
	typ("echo ahead-$((1))\recho ahead-$((2))\r") // typed ahead in one write
	term.waitFor(t, "ahead-1")
	term.waitFor(t, "ahead-2")
	typ("exit\r")
	ss.Wait()
	b, _ := os.ReadFile(filepath.Join(home, HistoryFile))
	if !strings.Contains(string(b), "echo alive-$((1+1))") {
		t.Errorf("history file %q lacks the typed line", b)
	}
}

// checkFor polls cond for up to 10 s.
func checkFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitCmdline waits until a process of uid whose command line contains
// sub exists (or not).
func waitCmdline(t *testing.T, uid uint32, sub string, want bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		found := false
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
			st, err2 := os.Stat("/proc/" + e.Name())
			if err != nil || err2 != nil || !strings.Contains(string(b), sub) {
				continue
			}
			if own, ok := fileUID(st); ok && own == uid {
				found = true
			}
		}
		if found == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %q of uid %d present=%v, want %v", sub, uid, found, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
