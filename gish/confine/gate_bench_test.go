package confine

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkStart: one confined /usr/bin/true, started and waited for,
// with the gate (held until the starting thread is gone) and without.
func BenchmarkStart(b *testing.B) {
	if ABI() < 6 {
		b.Skip("needs Landlock ABI 6 (signal scoping)")
	}
	tr, err := filepath.EvalSymlinks("/usr/bin/true")
	if err != nil {
		b.Skip("needs /usr/bin/true")
	}
	rs, err := NewRuleset(&Spec{Read: []string{"/usr/lib", "/etc"}, Exec: append([]string{tr}, Interpreters([]string{tr})...),
		Dev: []string{"/dev/null"}})
	if err != nil {
		b.Fatal(err)
	}
	defer rs.Close()
	for _, gate := range []bool{true, false} {
		name := "gate"
		if !gate {
			name = "no-gate"
		}
		b.Run(name, func(b *testing.B) {
			noGate.Store(!gate)
			defer noGate.Store(false)
			for range b.N {
				wait, err := rs.Start(exec.Command(tr))
				if err != nil {
					b.Fatal(err)
				}
				if err := wait(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
