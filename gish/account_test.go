package gish

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// realAccount is a Unix account made for one test with useradd (random
// tag) and removed with userdel when the test ends.
type realAccount struct {
	name, home string
	uid, gid   uint32
}

func newRealAccount(t *testing.T) *realAccount {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a real dynamic account with useradd")
	}
	tag := make([]byte, 3)
	rand.Read(tag)
	name := "igt" + hex.EncodeToString(tag)
	base := t.TempDir()
	for d := base; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o711)
	}
	home := filepath.Join(base, name)
	if out, err := exec.Command("useradd", "-M", "-d", home, "-s", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		exec.Command("pkill", "-KILL", "-u", name).Run()
		if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v: %s", name, err, out)
		}
	})
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	os.Mkdir(home, 0o700)
	os.Chown(home, uid, gid)
	return &realAccount{name: name, home: home, uid: uint32(uid), gid: uint32(gid)}
}

// resolveExes maps names to real paths as the node does; missing ones skip.
func resolveExes(t *testing.T, names ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, n := range names {
		p, err := exec.LookPath(n)
		if err == nil {
			p, err = filepath.EvalSymlinks(p)
		}
		if err != nil || filepath.Dir(p) == "/root/.pyenv/shims" {
			if alt, err2 := filepath.EvalSymlinks("/usr/bin/" + n); err2 == nil {
				p, err = alt, nil
			}
		}
		if err != nil {
			t.Skipf("needs %s installed", n)
		}
		out[n] = p
	}
	return out
}

// accountServer is a real SSH server whose one session runs GISH as the
// real account acct with policy p.
type accountServer struct {
	*Server
	signer gossh.Signer
	acct   *realAccount
	events chan Event
}

func startAccountServer(t *testing.T, acct *realAccount, p *Policy, sac string) *accountServer {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := gossh.NewSignerFromKey(priv)
	now := time.Now()
	b := &Binding{SessionID: "s-" + acct.name, User: "ann", Account: acct.name, Class: p.Class, Node: "tn",
		Home: acct.home, UID: acct.uid, GID: acct.gid, Start: now.Add(-time.Minute), End: now.Add(time.Hour),
		Executables: p.Executables, MaxProcesses: 64, AuthorizedKeys: []gossh.PublicKey{signer.PublicKey()},
		Policy: p, SACSocket: sac}
	events := make(chan Event, 10000)
	s, err := NewServer(ServerConfig{Addr: "127.0.0.1:0", Authorizer: staticAuth{b},
		Audit: func(ev Event) {
			select {
			case events <- ev:
			default:
			}
		}})
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
	return &accountServer{Server: s, signer: signer, acct: acct, events: events}
}

// run runs one `ssh host cmd` with stdin and returns output and status.
func (s *accountServer) run(t *testing.T, cmd, stdin string) (string, int) {
	t.Helper()
	cl, err := gossh.Dial("tcp", s.Addr(), &gossh.ClientConfig{User: "ann",
		Auth: []gossh.AuthMethod{gossh.PublicKeys(s.signer)}, HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ss, err := cl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	if stdin != "" {
		ss.Stdin = stringsReader(stdin)
	}
	out, err := ss.CombinedOutput(cmd)
	if ee, ok := err.(*gossh.ExitError); ok {
		return string(out), ee.ExitStatus()
	} else if err != nil {
		t.Fatalf("ssh %q: %v", cmd, err)
	}
	return string(out), 0
}
