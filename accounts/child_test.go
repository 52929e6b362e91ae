package accounts

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The test binary re-execs itself in two roles, chosen by childEnv:
//   - "bind": a second agent process binding and releasing accounts of a
//     shared lease map (cross-process lease tests), as root;
//   - "work": a user's session, run as the dynamic account, leaving every
//     kind of trace cleanup must remove.
const childEnv = "IGRID_ACCOUNTS_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "bind":
		os.Exit(bindChild())
	case "work":
		os.Exit(workChild())
	}
	os.Exit(m.Run())
}

// bindRequest is what the parent sends a "bind" child on stdin.
type bindRequest struct {
	HomeRoot, StateDir, Prefix, Tag, Witness string
	Size, Workers, Cycles                    int
	Name                                     string
}

// bindChild runs Workers goroutines that each bind, mark the account in the
// witness directory with O_EXCL (a second holder would fail), unmark and
// release, Cycles times. It prints {"bound": n, "errors": [...]}.
func bindChild() int {
	var req bindRequest
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fmt.Println(`{"errors":["bad request"]}`)
		return 2
	}
	m := NewManager(Config{HomeRoot: req.HomeRoot, StateDir: req.StateDir, Tag: req.Tag, Unprivileged: true, Logger: quietLogger()})
	var mu sync.Mutex
	out := struct {
		Bound  int      `json:"bound"`
		Errors []string `json:"errors"`
	}{}
	fail := func(f string, a ...any) {
		mu.Lock()
		out.Errors = append(out.Errors, fmt.Sprintf(f, a...))
		mu.Unlock()
	}
	if err := m.EnsurePool("eng", req.Prefix, req.Size); err != nil {
		fail("pool: %v", err)
	}
	var wg sync.WaitGroup
	for w := range req.Workers {
		wg.Go(func() {
			for c := range req.Cycles {
				sid := fmt.Sprintf("%s-w%d-c%d", req.Name, w, c)
				a, err := m.Bind("eng", sid)
				if err != nil {
					continue // exhausted: others hold every account
				}
				mark := filepath.Join(req.Witness, a.Name)
				f, err := os.OpenFile(mark, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
				if err != nil {
					fail("account %s bound to %s while held by another: %v", a.Name, sid, err)
				} else {
					f.Close()
					mu.Lock()
					out.Bound++
					mu.Unlock()
					os.Remove(mark)
				}
				if err := m.Release(sid); err != nil {
					fail("release %s: %v", sid, err)
				}
			}
		})
	}
	wg.Wait()
	json.NewEncoder(os.Stdout).Encode(out)
	return 0
}

// workRequest tells a "work" child which traces to leave.
type workRequest struct {
	Files []string // files to create (parent directories too)
	Fork  bool     // leave a grandchild behind
}

// workChild (running as the account) creates SysV shm, sem and msg objects,
// a POSIX message queue, the requested files, optionally a grandchild,
// prints "ready" and waits to be killed.
func workChild() int {
	var req workRequest
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fmt.Println("bad request:", err)
		return 2
	}
	if _, err := unix.SysvShmGet(unix.IPC_PRIVATE, 4096, unix.IPC_CREAT|0o600); err != nil {
		fmt.Println("shmget:", err)
		return 1
	}
	for _, trap := range []uintptr{unix.SYS_SEMGET, unix.SYS_MSGGET} {
		args := []uintptr{unix.IPC_PRIVATE, 1, unix.IPC_CREAT | 0o600}
		if trap == unix.SYS_MSGGET {
			args = []uintptr{unix.IPC_PRIVATE, unix.IPC_CREAT | 0o600, 0}
		}
		if _, _, e := unix.Syscall(trap, args[0], args[1], args[2]); e != 0 {
			fmt.Println("ipc get:", e)
			return 1
		}
	}
	name, _ := unix.BytePtrFromString(fmt.Sprintf("igrid-test-%d", os.Getpid()))
	if _, _, e := unix.Syscall6(unix.SYS_MQ_OPEN, uintptr(unsafe.Pointer(name)), unix.O_CREAT|unix.O_RDWR, 0o600, 0, 0, 0); e != 0 {
		fmt.Println("mq_open:", e)
		return 1
	}
	for _, f := range req.Files {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			fmt.Println(err)
			return 1
		}
		if err := os.WriteFile(f, []byte("secret of the previous user"), 0o644); err != nil {
			fmt.Println(err)
			return 1
		}
	}
	if req.Fork {
		c := exec.Command("/bin/sleep", "1000")
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := c.Start(); err != nil {
			fmt.Println(err)
			return 1
		}
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin) // until killed
	for {
		time.Sleep(time.Hour)
	}
}

// childBinary copies the test binary where a dynamic account can run it.
func childBinary(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	must(t, err)
	dir, err := os.MkdirTemp("", "igrid-accounts-bin-") // t.TempDir's parent is private to root
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	must(t, os.Chmod(dir, 0o755))
	dst := filepath.Join(dir, "accounts.test")
	b, err := os.ReadFile(self)
	must(t, err)
	must(t, os.WriteFile(dst, b, 0o755))
	return dst
}
