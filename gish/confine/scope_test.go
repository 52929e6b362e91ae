package confine

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// TestSignalScope: on ABI ≥ 6 a confined program cannot signal a process
// outside its domain (here another program of the same user).
func TestSignalScope(t *testing.T) {
	if ABI() < 6 {
		t.Skip("needs Landlock ABI 6 (signal scoping)")
	}
	kill, err := filepath.EvalSymlinks("/usr/bin/kill")
	if err != nil {
		t.Skip("needs /usr/bin/kill")
	}
	other := exec.Command("/usr/bin/sleep", "30")
	if err := other.Start(); err != nil {
		t.Skip("needs /usr/bin/sleep")
	}
	defer func() { other.Process.Kill(); other.Wait() }()
	pid := strconv.Itoa(other.Process.Pid)
	for _, tc := range []struct {
		name string
		off  bool
		ok   bool
	}{{"confined", false, false}, {"control", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Spec{Read: []string{"/usr/lib", "/etc", "/proc"}, Exec: append([]string{kill}, Interpreters([]string{kill})...),
				Dev: []string{"/dev/null"}, Off: tc.off}
			rs, err := NewRuleset(s)
			if err != nil {
				t.Fatal(err)
			}
			defer rs.Close()
			cmd := exec.Command(kill, "-s", "0", pid)
			var out bytesOut
			cmd.Stdout, cmd.Stderr = &out, &out
			defer func() { t.Logf("kill output: %s", out.b) }()
			wait, err := rs.Start(cmd)
			if err != nil {
				t.Fatal(err)
			}
			if err := wait(); (err == nil) != tc.ok {
				t.Errorf("kill -0 %s: %v, want success=%v", pid, err, tc.ok)
			}
		})
	}
}

type bytesOut struct{ b []byte }

func (b *bytesOut) Write(p []byte) (int, error) { b.b = append(b.b, p...); return len(p), nil }
