// Package gmmatest is the test harness of the GMMA packages: throwaway Unix
// accounts made with useradd and removed at the end, and processes started as
// such an account inside a session cgroup through a re-exec of the test
// binary (the way GISH's helper joins the group before exec).
package gmmatest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/igrid/igrid/gmma/cgroup"
)

const (
	envJoin = "GMMA_TEST_JOIN"
	envArgv = "GMMA_TEST_ARGV"
	// viaCloneFD says the child was cloned into its v2 group already.
	viaCloneFD = "clone-into-cgroup"
)

// MaybeChild must be called first in TestMain: in the re-exec'd child it
// joins the cgroup named by the environment and execs the target.
func MaybeChild() {
	files := os.Getenv(envJoin)
	if files == "" {
		return
	}
	var argv []string
	if err := json.Unmarshal([]byte(os.Getenv(envArgv)), &argv); err != nil || len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "gmmatest child: bad argv:", err)
		os.Exit(120)
	}
	if files == viaCloneFD {
		files = ""
	} else if err := cgroup.Join(strings.Split(files, ":")); err != nil {
		fmt.Fprintln(os.Stderr, "gmmatest child:", err)
		os.Exit(121)
	}
	if f, ok := builtins[argv[0]]; ok {
		// Name the process like a program would be named (comm).
		_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&append([]byte(strings.TrimPrefix(argv[0], "gmmatest-")), 0)[0])), 0, 0, 0)
		os.Exit(f(argv[1:]))
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "gmmatest child:", err)
		os.Exit(122)
	}
	err = syscall.Exec(path, argv, []string{"PATH=/usr/bin:/bin", "HOME=/tmp"})
	fmt.Fprintln(os.Stderr, "gmmatest child: exec:", err)
	os.Exit(123)
}

// RequireRoot skips t with a clear message when not root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates real cgroups and Unix accounts (run the tests as root)")
	}
}

// Account is a throwaway Unix account.
type Account struct {
	Name     string
	UID, GID int
}

// Tag returns a random lower-case hex tag of n bytes.
func Tag(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// NewAccount creates a real account with useradd and removes it (and kills
// its processes) when t ends.
func NewAccount(t testing.TB) *Account {
	t.Helper()
	RequireRoot(t)
	if _, err := exec.LookPath("useradd"); err != nil {
		t.Skip("useradd not installed (scripts/test-deps.sh installs passwd)")
	}
	name := "igt" + Tag(4)
	out, err := exec.Command("useradd", "-M", "-N", "-s", "/usr/sbin/nologin", "-d", "/nonexistent", name).CombinedOutput()
	if err != nil {
		t.Fatalf("useradd %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		_ = exec.Command("pkill", "-KILL", "-u", name).Run()
		if out, err := exec.Command("userdel", "-f", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v: %s", name, err, out)
		}
	})
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &Account{Name: name, UID: uid, GID: gid}
}

// Proc is a started test process.
type Proc struct {
	Cmd  *exec.Cmd
	Done chan struct{} // closed when it has exited and been reaped
	// Stdout and Stderr collect the output; read them only after Done.
	Stdout, Stderr bytes.Buffer
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.Done:
		return true
	default:
		return false
	}
}

// Start runs argv as acct inside g and reaps it when t ends. argv[0] may be
// a builtin: CPUHog, MemHog.
func Start(t testing.TB, g cgroup.Group, acct *Account, argv ...string) *Proc {
	t.Helper()
	if err := g.Delegate(acct.UID, acct.GID); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(argv)
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = []string{"PATH=/usr/bin:/bin", envJoin + "=" + strings.Join(g.ProcsFiles(), ":"), envArgv + "=" + string(a)}
	p := &Proc{Cmd: cmd, Done: make(chan struct{})}
	cmd.Stderr = &p.Stderr
	cmd.Stdout = &p.Stdout
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uint32(acct.UID), Gid: uint32(acct.GID)},
		Setpgid:    true,
	}
	if dir := cgroup.NetDir(g); dir != "" {
		// v2 forbids an unprivileged process to migrate itself between
		// groups it does not own the common ancestor of; clone it straight
		// into the group instead (CLONE_INTO_CGROUP), as GISH's helper does.
		// On a hybrid v1 host that is the v2 network companion, and the
		// child still joins the v1 groups itself.
		d, err := os.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if g.Version() == 2 {
			cmd.Env[1] = envJoin + "=" + viaCloneFD
		}
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = int(d.Fd())
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v as %s: %v", argv, acct.Name, err)
	}
	done := p.Done
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
	})
	return p
}

// CheckFor polls cond every 10ms until it is true or d passes.
func CheckFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
