package node

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/igrid/igrid/internal/bus"
	"github.com/igrid/igrid/internal/testutil"
	"github.com/igrid/igrid/policies"
	"github.com/nats-io/nats.go"

	gossh "golang.org/x/crypto/ssh"
)

// TestPolicyReloadReachesRunningShell edits the class file under a running
// agent: the GISH prompt that is already open refuses the removed command
// at its next line; a broken edit is rejected whole and the last good
// rules stay in force.
func TestPolicyReloadReachesRunningShell(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"tbase.yaml", "tworker.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata/policies", f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	n := startNodeWith(t, dir)
	now := time.Now()
	if r := n.request(t, n.startCmd("s-reload", "rita", now.Add(-time.Second), now.Add(time.Hour))); r.Error != "" {
		t.Fatal(r.Error)
	}
	defer n.end(t, "s-reload")
	cl, err := n.dial("rita")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	term := openPrompt(t, cl)
	term.line(t, "ls -d . && echo ls-ran", "\nls-ran")

	tworker := filepath.Join(dir, "tworker.yaml")
	orig, _ := os.ReadFile(tworker)
	tight := strings.Replace(string(orig), "executables:\n  - ls\n", "", 1)
	replaceFile(t, tworker, tight)
	checkFor(t, 10*time.Second, func() error {
		out := term.line(t, "ls -d .", "$ ")
		if !strings.Contains(out, `"ls" is not allowed for class tworker`) {
			return fmt.Errorf("ls after its removal: %q", out)
		}
		return nil
	})

	replaceFile(t, tworker, tight+"\nsession: [broken\n")
	checkFor(t, 10*time.Second, func() error {
		if n.watcher.LastError() == nil {
			return fmt.Errorf("the broken edit was not reported")
		}
		return nil
	})
	if out := term.line(t, "ls -d .; id -u && echo id-ran", "$ "); !strings.Contains(out, "not allowed") || strings.Contains(out, "\nid-ran") {
		t.Errorf("after a broken edit the last good rules should hold (ls denied, whole line refused): %q", out)
	}
	term.line(t, "id -u && echo id-ran", "\nid-ran")
}

func replaceFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path+".new", []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

// prompt is an interactive GISH over SSH with its output collected.
type prompt struct {
	testutil.Buffer
	in io.Writer
}

func openPrompt(t *testing.T, cl *gossh.Client) *prompt {
	t.Helper()
	ss, err := cl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	p := &prompt{}
	ss.Stdout, ss.Stderr = p, p
	if p.in, err = ss.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := ss.RequestPty("xterm", 40, 120, gossh.TerminalModes{gossh.ECHO: 0}); err != nil {
		t.Fatal(err)
	}
	if err := ss.Shell(); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, func() error {
		if !strings.Contains(p.String(), "$ ") {
			return fmt.Errorf("no prompt: %q", p.String())
		}
		return nil
	})
	return p
}

// line types a line and returns what the shell printed until want shows
// after it.
func (p *prompt) line(t *testing.T, line, want string) string {
	t.Helper()
	start := len(p.String())
	fmt.Fprintf(p.in, "%s\r", line)
	var got string
	checkFor(t, 10*time.Second, func() error {
		got = p.String()[start:]
		if !strings.Contains(got, want) {
			return fmt.Errorf("after %q: %q, want %q", line, got, want)
		}
		return nil
	})
	return got
}

// TestShellInSessionCgroup: GISH and what it starts are in the session's
// cgroup from their first instruction on.
func TestShellInSessionCgroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: session cgroups are made by a root node agent")
	}
	n := startNode(t)
	now := time.Now()
	if r := n.request(t, n.startCmd("s-cgjoin", "cora", now.Add(-time.Second), now.Add(time.Hour))); r.Error != "" {
		t.Fatal(r.Error)
	}
	defer n.end(t, "s-cgjoin")
	g, ok := n.SessionCgroup("s-cgjoin")
	if !ok {
		t.Skip("no session cgroup on this machine")
	}
	cl, err := n.dial("cora")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ss, _ := cl.NewSession()
	out, err := ss.Output("cat /proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "s-cgjoin") {
		t.Errorf("a program of the session runs outside its cgroup %s: %s", g.Dir(), out)
	}
}

// TestPoliciesFromDRM: a node without the policy directory runs the set
// the DRM publishes over NATS, and a running GISH follows a new one at
// its next line.
func TestPoliciesFromDRM(t *testing.T) {
	var pub *policies.Publisher
	var nc *nats.Conn
	n := startNodeOpts(t, func(ns *bus.Embedded, c *Config) {
		var err error
		if nc, err = bus.Connect(ns.URL(), "test-drm-policies"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		pub = policies.NewPublisher(nc, testLogger(t))
		set, err := policies.LoadDir("testdata/policies")
		if err == nil {
			err = pub.Start()
		}
		if err == nil {
			err = pub.Publish(set)
		}
		if err != nil {
			t.Fatal(err)
		}
		c.PoliciesFromDRM = true
	})
	t.Cleanup(pub.Shutdown)
	now := time.Now()
	if r := n.request(t, n.startCmd("s-dist", "dina", now.Add(-time.Second), now.Add(time.Hour))); r.Error != "" {
		t.Fatal(r.Error)
	}
	defer n.end(t, "s-dist")
	cl, err := n.dial("dina")
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	term := openPrompt(t, cl)
	term.line(t, "ls -d . && echo ls-ran", "\nls-ran")

	dir := t.TempDir()
	for _, f := range []string{"tbase.yaml", "tworker.yaml"} {
		b, _ := os.ReadFile(filepath.Join("testdata/policies", f))
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	orig, _ := os.ReadFile(filepath.Join(dir, "tworker.yaml"))
	os.WriteFile(filepath.Join(dir, "tworker.yaml"), []byte(strings.Replace(string(orig), "executables:\n  - ls\n", "", 1)), 0o644)
	set, err := policies.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(set); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, func() error {
		if out := term.line(t, "ls -d .", "$ "); !strings.Contains(out, `"ls" is not allowed for class tworker`) {
			return fmt.Errorf("ls after the DRM dropped it: %q", out)
		}
		return nil
	})
}
