package confine

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestProgramCannotSignalItsStarter: on ABI ≥ 6 a confined program can
// signal neither the process that started it (kill(getppid()), which hits
// the main thread) nor any of its threads (each tid of /proc/PID/task),
// however many programs ran before (once a program ran from the main
// thread, or from a long-lived restricted thread, that thread shared the
// programs' domain and the kill went through).
func TestProgramCannotSignalItsStarter(t *testing.T) {
	if ABI() < 6 {
		t.Skip("needs Landlock ABI 6 (signal scoping)")
	}
	kill, err := filepath.EvalSymlinks("/usr/bin/kill")
	if err != nil {
		t.Skip("needs /usr/bin/kill")
	}
	s := &Spec{Read: []string{"/usr/lib", "/etc", "/proc"}, Exec: append([]string{kill}, Interpreters([]string{kill})...),
		Dev: []string{"/dev/null"}}
	rs, err := NewRuleset(s)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for i := 0; i < 20; i++ {
		targets := []string{strconv.Itoa(os.Getpid())}
		ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", os.Getpid()))
		for _, e := range ents {
			targets = append(targets, e.Name())
		}
		for _, tid := range targets {
			cmd := exec.Command(kill, "-s", "0", tid)
			var out bytesOut
			cmd.Stdout, cmd.Stderr = &out, &out
			start := rs.Start
			if i%2 == 1 {
				start = rs.StartShared
			}
			wait, err := start(cmd)
			if err != nil {
				t.Fatal(err)
			}
			// A thread listed a moment ago may be gone (ESRCH); only a
			// delivered signal is an escape.
			err = wait()
			if err == nil || (tid == targets[0] && !strings.Contains(string(out.b), "not permitted")) {
				t.Fatalf("run %d: kill -0 %s (pid %d) from a confined program: %v %q; want EPERM", i, tid, os.Getpid(), err, out.b)
			}
		}
	}
}

// TestGateEngaged: where signals are scoped and ptrace is allowed (this
// machine), programs start held until their starting thread is gone,
// not in the fallback without the gate.
func TestGateEngaged(t *testing.T) {
	tr, rs := trueRuleset(t)
	defer rs.Close()
	wait, err := rs.Start(exec.Command(tr))
	if err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatalf("true: %v", err)
	}
	if noGate.Load() {
		t.Fatal("ptrace refused: programs start without the gate")
	}
}

// trueRuleset is a ruleset that may run /usr/bin/true (its real path,
// returned), on a kernel with signal scoping; it skips tb otherwise.
func trueRuleset(tb testing.TB) (string, *Ruleset) {
	tb.Helper()
	if ABI() < 6 {
		tb.Skip("needs Landlock ABI 6 (signal scoping)")
	}
	tr, err := filepath.EvalSymlinks("/usr/bin/true")
	if err != nil {
		tb.Skip("needs /usr/bin/true")
	}
	rs, err := NewRuleset(&Spec{Read: []string{"/usr/lib", "/etc"}, Exec: append([]string{tr}, Interpreters([]string{tr})...),
		Dev: []string{"/dev/null"}})
	if err != nil {
		tb.Fatal(err)
	}
	return tr, rs
}
