package devgrid

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/igrid/igrid/internal/proto"
	"github.com/igrid/igrid/internal/testutil"
	gossh "golang.org/x/crypto/ssh"
)

// startGrid starts a dev grid on free ports in a temporary directory.
func startGrid(t *testing.T, nodes int) *Grid {
	t.Helper()
	dir := t.TempDir()
	// Dynamic accounts must traverse to their homes inside the temp dir.
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o711)
	}
	cfg := Default()
	cfg.DataDir, cfg.Listen, cfg.Nodes, cfg.SSHBasePort = dir, "127.0.0.1:0", nodes, 0
	cfg.DemoSession = false
	cfg.AccountTag = randomTag()
	cfg.Heartbeat, cfg.Tick = 200*time.Millisecond, 50*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	g, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start dev grid: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := g.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return g
}

func demoSigner(t *testing.T, in Info) gossh.Signer {
	t.Helper()
	b, err := os.ReadFile(in.SSHKey)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.ParsePrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func dialSession(s *proto.Session, signer gossh.Signer) (*gossh.Client, error) {
	c := s.Connect.SSH
	return gossh.Dial("tcp", fmt.Sprintf("%s:%d", c.Host, c.Port), &gossh.ClientConfig{
		User: c.User, Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
	})
}

// terminal is an interactive PTY session whose output is collected.
type terminal struct {
	testutil.Buffer
	in interface{ Write([]byte) (int, error) }
	ss *gossh.Session
}

func openTerminal(t *testing.T, cl *gossh.Client) *terminal {
	t.Helper()
	ss, err := cl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	term := &terminal{ss: ss}
	ss.Stdout, ss.Stderr = term, term
	if term.in, err = ss.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := ss.RequestPty("xterm", 40, 120, gossh.TerminalModes{gossh.ECHO: 1}); err != nil {
		t.Fatal(err)
	}
	if err := ss.Shell(); err != nil {
		t.Fatal(err)
	}
	return term
}

// run types a line and waits until want appears in the output after it.
func (term *terminal) run(t *testing.T, line, want string) string {
	t.Helper()
	start := len(term.String())
	fmt.Fprintf(term.in, "%s\n", line)
	var got string
	checkFor(t, 10*time.Second, func() error {
		got = term.String()[start:]
		if !strings.Contains(got, want) {
			return fmt.Errorf("after %q the terminal shows %q, want %q", line, got, want)
		}
		return nil
	})
	return got
}

func decodeJSON(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("decode %s: %v", resp.Request.URL, err)
	}
}

// randomTag is a two-letter account tag for one test grid.
func randomTag() string {
	b := make([]byte, 2)
	rand.Read(b)
	return string([]byte{'a' + b[0]%26, 'a' + b[1]%26})
}

// checkFor polls instead of sleeping (internal/testutil).
var checkFor = testutil.CheckFor

// waitState waits for a session state through the API (internal/testutil).
var waitState = testutil.WaitState
