package gish

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/igrid/igrid/internal/testutil"

	gossh "golang.org/x/crypto/ssh"
)

func TestMain(m *testing.M) {
	MaybeReexec()
	os.Exit(m.Run())
}

// staticAuth binds one user to one session.
type staticAuth struct{ b *Binding }

func (a staticAuth) Lookup(user string, now time.Time) (*Binding, error) {
	switch {
	case user != a.b.User:
		return nil, fmt.Errorf("no session for user %s on node tn", user)
	case now.Before(a.b.Start):
		return nil, errors.New("session s-srv has not started")
	case !now.Before(a.b.End):
		return nil, errors.New("session s-srv has ended")
	}
	cp := *a.b
	return &cp, nil
}

type testServer struct {
	*Server
	signer gossh.Signer
	b      *Binding
}

// startServer runs an SSH server for user "ann" in session s-srv. As root
// the shell runs as nobody (a real uid switch); otherwise as the test user.
func startServer(t *testing.T, start, end time.Time) *testServer {
	t.Helper()
	p := testPolicy(t)
	if stty, err := filepath.EvalSymlinks("/bin/stty"); err == nil {
		p.Executables["stty"] = stty
	}
	home := p.WriteAreas[0]
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	if uid == 0 {
		uid, gid = 65534, 65534
		// nobody must reach its home; stop below the shared temp dir.
		for d := home; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
			os.Chmod(d, 0o711)
		}
		os.Chown(home, int(uid), int(gid))
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := gossh.NewSignerFromKey(priv)
	b := &Binding{SessionID: "s-srv", User: "ann", Account: "tacct", Class: "tc", Node: "tn", Home: home,
		UID: uid, GID: gid, Start: start, End: end, Executables: p.Executables,
		AuthorizedKeys: []gossh.PublicKey{signer.PublicKey()}}
	s, err := NewServer(ServerConfig{Addr: "127.0.0.1:0", Authorizer: staticAuth{b}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return &testServer{Server: s, signer: signer, b: b}
}

func (s *testServer) dial(user string, signer gossh.Signer, banner *string) (*gossh.Client, error) {
	return gossh.Dial("tcp", s.Addr(), &gossh.ClientConfig{
		User: user, Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
		BannerCallback: func(msg string) error {
			if banner != nil {
				*banner = msg
			}
			return nil
		},
	})
}

func TestServerRefusals(t *testing.T) {
	now := time.Now()
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	otherSigner, _ := gossh.NewSignerFromKey(other)
	tests := []struct {
		name       string
		start, end time.Time
		user       string
		wrongKey   bool
		banner     string
	}{
		{"unknown user", now.Add(-time.Minute), now.Add(time.Hour), "bob", false, "no session for user bob"},
		{"wrong key", now.Add(-time.Minute), now.Add(time.Hour), "ann", true, ""},
		{"before start", now.Add(time.Hour), now.Add(2 * time.Hour), "ann", false, "has not started"},
		{"after end", now.Add(-time.Hour), now.Add(-time.Minute), "ann", false, "has ended"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, tc.start, tc.end)
			signer := s.signer
			if tc.wrongKey {
				signer = otherSigner
			}
			var banner string
			cl, err := s.dial(tc.user, signer, &banner)
			if err == nil {
				cl.Close()
				t.Fatal("login accepted")
			}
			if !strings.Contains(banner, tc.banner) {
				t.Errorf("banner %q, want the reason %q", banner, tc.banner)
			}
		})
	}
}

func TestServerExecAndSideDoors(t *testing.T) {
	s := startServer(t, time.Now().Add(-time.Minute), time.Now().Add(time.Hour))
	cl, err := s.dial("ann", s.signer, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	run := func(cmd string) (string, error) {
		ss, err := cl.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer ss.Close()
		out, err := ss.CombinedOutput(cmd)
		return string(out), err
	}
	if out, err := run("echo $((1+2)); id -u"); err != nil || out != fmt.Sprintf("3\n%d\n", s.b.UID) {
		t.Errorf("exec: %q, %v; want 3 and uid %d", out, err, s.b.UID)
	}
	out, err := run("echo ok; sh -c id")
	var ee *gossh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 126 || strings.Contains(out, "ok") || !strings.Contains(out, "rule: executables") {
		t.Errorf("denied exec: %q, %v; want status 126 and the rule", out, err)
	}
	if _, err := cl.Dial("tcp", s.Addr()); err == nil {
		t.Error("local port forwarding was allowed")
	}
	if _, err := cl.Listen("tcp", "127.0.0.1:0"); err == nil {
		t.Error("remote port forwarding was allowed")
	}
	ss, _ := cl.NewSession()
	if err := ss.RequestSubsystem("netconf"); err == nil {
		if err := ss.Wait(); err == nil {
			t.Error("a subsystem other than sftp was offered")
		}
	}
	// gliderlabs acknowledges an agent request but the server never opens
	// the agent channel back and gives the shell no socket.
	ss, _ = cl.NewSession()
	ss.SendRequest("auth-agent-req@openssh.com", true, nil)
	if out, _ := ss.CombinedOutput("cat /proc/self/environ"); strings.Contains(string(out), "SSH_AUTH_SOCK") {
		t.Errorf("the shell got an agent socket: %q", out)
	}
}

// ptyTerm is an interactive session with collected output.
type ptyTerm struct {
	testutil.Buffer
	in io.Writer
	ss *gossh.Session
}

func (p *ptyTerm) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("terminal never showed %q: %q", want, p.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServerPtyWarnAndEnd(t *testing.T) {
	s := startServer(t, time.Now().Add(-time.Minute), time.Now().Add(time.Hour))
	cl, err := s.dial("ann", s.signer, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ss, _ := cl.NewSession()
	term := &ptyTerm{ss: ss}
	ss.Stdout, ss.Stderr = term, term
	term.in, _ = ss.StdinPipe()
	if err := ss.RequestPty("xterm", 30, 90, gossh.TerminalModes{gossh.ECHO: 1}); err != nil {
		t.Fatal(err)
	}
	if err := ss.Shell(); err != nil {
		t.Fatal(err)
	}
	term.waitFor(t, "ann@tn:~ [")
	if _, ok := s.b.Executables["stty"]; ok {
		// The window change and the typed line travel separately; ask
		// again until the new size has arrived.
		ss.WindowChange(50, 100)
		for i := 0; i < 50 && !strings.Contains(term.String(), "50 100"); i++ {
			fmt.Fprintf(term.in, "stty size\n")
			term.waitFor(t, "$ stty size\r\n")
			time.Sleep(100 * time.Millisecond)
		}
		term.waitFor(t, "50 100")
	}
	s.Warn("s-srv", "session ends in 1m0s")
	term.waitFor(t, "*** igrid: session ends in 1m0s ***")
	fmt.Fprintf(term.in, "sleep 300\n")
	waitProc(t, s.b.UID, "sleep", true)
	s.EndSession("s-srv")
	if err := ss.Wait(); err == nil {
		t.Error("the shell exited cleanly after EndSession; want it killed")
	}
	waitProc(t, s.b.UID, "sleep", false)
	if _, err := cl.NewSession(); err == nil {
		t.Error("a new channel opened on an ended session's connection")
	}
}

// waitProc waits until a process named comm of uid exists (or not).
func waitProc(t *testing.T, uid uint32, comm string, want bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		found := false
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			b, err := os.ReadFile("/proc/" + e.Name() + "/comm")
			st, err2 := os.Stat("/proc/" + e.Name())
			if err != nil || err2 != nil || strings.TrimSpace(string(b)) != comm {
				continue
			}
			if own, ok := fileUID(st); ok && own == uid {
				found = true
			}
		}
		if found == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %s of uid %d present=%v, want %v", comm, uid, found, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
