package devgrid

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/igrid/igrid/drm/client"
	"github.com/igrid/igrid/internal/proto"
	gossh "golang.org/x/crypto/ssh"
)

// BenchmarkSessionStartup measures, per session: POST /sessions → running
// (as seen by polling the API every 2 ms), and SSH dial → first prompt byte.
// The peer, measured in the same run, is OpenSSH's `ssh host true` against
// the system sshd; `ssh host true` against the igrid node is reported too.
// Run with -benchtime 20x for medians of 20 (make bench).
func BenchmarkSessionStartup(b *testing.B) {
	g := startGridB(b)
	ctx := context.Background()
	c := client.New(g.Info.APIURL, g.Info.Token)
	signer := benchSigner(b, g.Info.SSHKey)
	var toRun, toPrompt, igridTrue []float64
	for b.Loop() {
		t0 := time.Now()
		s, err := c.RequestSession(ctx, proto.Template{UsageTime: proto.Duration(5 * time.Minute)})
		if err != nil {
			b.Fatal(err)
		}
		for s.State != proto.StateRunning {
			if s.State.Terminal() {
				b.Fatalf("session %s: %s", s.State, s.Reason)
			}
			time.Sleep(2 * time.Millisecond)
			if s, err = c.Session(ctx, s.ID); err != nil {
				b.Fatal(err)
			}
		}
		toRun = append(toRun, ms(time.Since(t0)))
		toPrompt = append(toPrompt, ms(firstPromptByte(b, s, signer)))
		igridTrue = append(igridTrue, ms(opensshTrue(b, g.Info.SSHKey, s.Connect.SSH.Port, "demo")))
		if _, err := c.EndSession(ctx, s.ID); err != nil {
			b.Fatal(err)
		}
		for s.State != proto.StateEnded {
			time.Sleep(5 * time.Millisecond)
			if s, err = c.Session(ctx, s.ID); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(median(toRun), "ms-post-to-running")
	b.ReportMetric(median(toPrompt), "ms-running-to-prompt")
	b.ReportMetric(median(igridTrue), "ms-ssh-true-igrid")
	if peer := sshdPeer(b, g.Info.SSHKey, len(toRun)); peer > 0 {
		b.ReportMetric(peer, "ms-ssh-true-sshd")
	}
}

func startGridB(b *testing.B) *Grid {
	dir := b.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o711)
	}
	cfg := Default()
	cfg.DataDir, cfg.Listen, cfg.Nodes, cfg.SSHBasePort, cfg.DemoSession = dir, "127.0.0.1:0", 1, 0, false
	cfg.AccountTag = randomTag()
	g, err := Start(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { g.Shutdown(context.Background()) })
	return g
}

func benchSigner(b *testing.B, path string) gossh.Signer {
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	s, err := gossh.ParsePrivateKey(raw)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// firstPromptByte dials the session, opens a PTY shell and times the first
// byte of output.
func firstPromptByte(b *testing.B, s *proto.Session, signer gossh.Signer) time.Duration {
	t0 := time.Now()
	cl, err := dialSession(s, signer)
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ss, err := cl.NewSession()
	if err != nil {
		b.Fatal(err)
	}
	out, _ := ss.StdoutPipe()
	if err := ss.RequestPty("xterm", 24, 80, nil); err != nil {
		b.Fatal(err)
	}
	if err := ss.Shell(); err != nil {
		b.Fatal(err)
	}
	one := make([]byte, 1)
	if _, err := out.Read(one); err != nil {
		b.Fatal(err)
	}
	return time.Since(t0)
}

func opensshTrue(b *testing.B, key string, port int, user string) time.Duration {
	t0 := time.Now()
	if out, err := exec.Command("ssh", opensshArgs(key, port, user, "true")...).CombinedOutput(); err != nil {
		b.Fatalf("ssh true: %v: %s", err, out)
	}
	return time.Since(t0)
}

// sshdPeer runs the system sshd on a free loopback port with a throw-away
// config that trusts key, and returns the median of n `ssh host true` in ms.
func sshdPeer(b *testing.B, key string, n int) float64 {
	if _, err := os.Stat("/usr/sbin/sshd"); err != nil {
		b.Log("no /usr/sbin/sshd: peer not measured (make bench installs openssh-server)")
		return 0
	}
	dir := b.TempDir()
	port := freePort(b)
	pub, _ := os.ReadFile(key + ".pub")
	os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, "host")).CombinedOutput(); err != nil {
		b.Fatalf("ssh-keygen: %v %s", err, out)
	}
	conf := fmt.Sprintf("Port %d\nListenAddress 127.0.0.1\nHostKey %s/host\nPidFile %s/pid\nAuthorizedKeysFile %s/authorized_keys\n"+
		"PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n",
		port, dir, dir, dir)
	os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(conf), 0o600)
	os.MkdirAll("/run/sshd", 0o755)
	cmd := exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			c.Close()
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	me, _ := user.Current()
	var runs []float64
	for i := 0; i < n; i++ {
		runs = append(runs, ms(opensshTrue(b, key, port, me.Username)))
	}
	return median(runs)
}

func freePort(b *testing.B) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
