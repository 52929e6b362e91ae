package devgrid

import (
	"os"
	"testing"

	"github.com/igrid/igrid/gish"
)

// TestMain lets the test binary act as `igrid gish` when the node's SSH
// server re-execs /proc/self/exe as the dynamic account.
func TestMain(m *testing.M) {
	gish.MaybeReexec()
	os.Exit(m.Run())
}
