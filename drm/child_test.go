package drm

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childEnv carries a childConfig to the test binary re-executed as a DRM
// process (TestMain), so tests can kill -9 a real DRM.
const childEnv = "IGRID_DRM_TEST_CHILD"

type childConfig struct {
	DB, NATS, Listen string
	User             string // created when missing; its token is printed
}

// childMain runs a DRM until SIGTERM and prints "READY <addr> <token>".
func childMain() int {
	var cc childConfig
	if err := json.Unmarshal([]byte(os.Getenv(childEnv)), &cc); err != nil {
		fmt.Fprintln(os.Stderr, "child config:", err)
		return 2
	}
	d, err := New(Config{Listen: cc.Listen, DBPath: cc.DB, NATSURL: cc.NATS, PoliciesDir: "testdata/policies",
		DefaultClass: "engineering", Heartbeat: time.Second, Tick: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		fmt.Fprintln(os.Stderr, "new:", err)
		return 1
	}
	if err := d.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		return 1
	}
	ctx := context.Background()
	if err := d.CreateUser(ctx, cc.User, "password-"+cc.User, "", true, []string{testKey}); err != nil &&
		!strings.Contains(err.Error(), "exists") {
		fmt.Fprintln(os.Stderr, "user:", err)
		return 1
	}
	tok, err := d.IssueToken(ctx, cc.User)
	if err != nil {
		fmt.Fprintln(os.Stderr, "token:", err)
		return 1
	}
	fmt.Printf("READY %s %s\n", d.Addr(), tok)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	d.Shutdown(sctx)
	return 0
}

// child is a DRM running in a re-executed test binary.
type child struct {
	cmd   *exec.Cmd
	addr  string
	token string
}

// startChild starts a DRM process on cc and waits for its READY line.
func startChild(t *testing.T, cc childConfig) *child {
	t.Helper()
	b, _ := json.Marshal(cc)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(b))
	cmd.Stderr = testWriter{t}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd}
	t.Cleanup(func() { c.kill() })
	line := make(chan string, 1)
	go func() {
		var buf [512]byte
		var got []byte
		for {
			n, err := out.Read(buf[:])
			got = append(got, buf[:n]...)
			if i := strings.IndexByte(string(got), '\n'); i >= 0 {
				line <- string(got[:i])
				io.Copy(io.Discard, out)
				return
			}
			if err != nil {
				line <- ""
				return
			}
		}
	}()
	select {
	case l := <-line:
		f := strings.Fields(l)
		if len(f) != 3 || f[0] != "READY" {
			t.Fatalf("child DRM said %q", l)
		}
		c.addr, c.token = f[1], f[2]
	case <-time.After(30 * time.Second):
		t.Fatal("child DRM not ready after 30s")
	}
	return c
}

// kill sends SIGKILL (kill -9) and reaps the process.
func (c *child) kill() {
	if c.cmd.ProcessState != nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.cmd.Wait()
}
