package gish

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/igrid/igrid/gish/confine"
)

// killScript tries to end its GISH: SIGKILL to getppid(), SIGTERM to every
// thread of it (each tid of /proc/PPID/task), and prints what the kernel said.
const killScript = `import os, signal
gish = os.getppid()
targets = [(gish, signal.SIGKILL)] + [(int(t), signal.SIGTERM) for t in os.listdir("/proc/%d/task" % gish)]
for pid, sig in targets:
    try:
        os.kill(pid, sig)
        print("DELIVERED", pid)
    except PermissionError as e:
        print("DENIED", pid, e)
    except ProcessLookupError:
        print("GONE", pid)
`

// TestProgramCannotSignalGISH: a program the class allows (python3) sends
// SIGKILL to its parent GISH and SIGTERM to each of its threads, over real
// SSH as a real account, with the restricted thread and with the helper,
// several times in one line: GISH survives (the line goes on) and every
// attempt is refused by the kernel (EPERM from Landlock's signal scope).
func TestProgramCannotSignalGISH(t *testing.T) {
	if confine.ABI() < 6 {
		t.Skip("needs Landlock ABI 6 (signal scoping)")
	}
	for _, helper := range []bool{false, true} {
		t.Run(map[bool]string{false: "thread", true: "helper"}[helper], func(t *testing.T) {
			acct := newRealAccount(t)
			p := DefaultPolicy("engineering", resolveExes(t, "python3", "ls"), acct.home)
			p.Landlock.Helper = helper
			s := startAccountServer(t, acct, p, "")
			f := filepath.Join(acct.home, "kill.py")
			os.WriteFile(f, []byte(killScript), 0o644)
			os.Chown(f, int(acct.uid), int(acct.gid))
			out, st := s.run(t, "python3 kill.py; ls kill.py; python3 kill.py; python3 kill.py; echo gish-survived", "")
			t.Logf("status %d: %s", st, out)
			if st != 0 || !strings.Contains(out, "gish-survived") {
				t.Fatalf("GISH did not survive its program's signals: status %d, out %q", st, out)
			}
			if strings.Contains(out, "DELIVERED") || strings.Count(out, "DENIED") < 6 {
				t.Fatalf("want every signal refused (DENIED, Operation not permitted), got %q", out)
			}
		})
	}
}
