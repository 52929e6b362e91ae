package confine

import (
	"os/exec"
	"testing"
)

// BenchmarkStart: one confined /usr/bin/true, started and waited for,
// with the gate (held until the starting thread is gone) and without.
func BenchmarkStart(b *testing.B) {
	tr, rs := trueRuleset(b)
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
