package gish

import (
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestUserBinaryStagedOverSSH: a real account over real SSH runs a signed
// binary of its own (echo), which the agent staged and verified; the same
// file rewritten after signing (id: prints "uid=") is denied; and while a
// goroutine keeps swapping the file between the signed and the unsigned
// bytes, the unsigned bytes never run.
func TestUserBinaryStagedOverSSH(t *testing.T) {
	acct := newRealAccount(t)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	p := DefaultPolicy("engineering", resolveExes(t, "ls", "cat"), acct.home)
	p.TrustedSigners = []ed25519.PublicKey{pub}
	srv := startSAC(t, nil)
	srv.trust(pub)
	s := startAccountServer(t, acct, p, srv.path)
	home := acct.home
	own := func(name string) string {
		f := filepath.Join(home, name)
		os.Chown(f, int(acct.uid), int(acct.gid))
		return f
	}
	prog := filepath.Join(home, "prog")
	copyExe(t, "/usr/bin/echo", prog)
	own("prog")
	if _, err := SignFile(priv, prog); err != nil {
		t.Fatal(err)
	}
	own("prog.sig")
	signed, _ := os.ReadFile(prog)
	copyExe(t, "/usr/bin/id", filepath.Join(home, "unsigned.src"))
	unsigned, _ := os.ReadFile(filepath.Join(home, "unsigned.src"))

	out, st := s.run(t, "./prog signed-ran", "")
	if st != 0 || !strings.Contains(out, "signed-ran") {
		t.Fatalf("signed binary: status %d, out %q", st, out)
	}
	srv.mu.Lock()
	staged := append([]string(nil), srv.staged...)
	srv.mu.Unlock()
	if len(staged) != 1 || strings.HasPrefix(staged[0], home) {
		t.Fatalf("staged %q: want one copy outside the home", staged)
	}
	if fi, err := os.Stat(staged[0]); err != nil || fi.Mode().Perm() != 0o555 || fi.Sys().(interface{}) == nil {
		t.Fatalf("staged copy: %v, %v", fi, err)
	}
	out, st = s.run(t, "echo x > "+staged[0]+"; cat "+staged[0]+" >/dev/null && "+staged[0]+" direct", "")
	if strings.Contains(out, "direct") && !strings.Contains(out, "denied") {
		t.Fatalf("the account wrote or ran its staged copy directly: %q", out)
	}

	if err := os.WriteFile(prog, unsigned, 0o755); err != nil {
		t.Fatal(err)
	}
	out, st = s.run(t, "./prog signed-ran", "")
	if st == 0 || strings.Contains(out, "uid=") || !strings.Contains(out, "rule: "+RuleSignature) {
		t.Fatalf("rewritten after signing: status %d, out %q; want a signature denial", st, out)
	}

	// The race: swap prog between the two contents as fast as we can.
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tmp := filepath.Join(home, ".swap")
		for i := 0; !stop.Load(); i++ {
			b := signed
			if i%2 == 1 {
				b = unsigned
			}
			if i%4 < 2 { // atomic replacement
				os.WriteFile(tmp, b, 0o755)
				os.Chown(tmp, int(acct.uid), int(acct.gid))
				os.Rename(tmp, prog)
			} else { // rewrite in place
				os.WriteFile(prog, b, 0o755)
			}
		}
	}()
	var ran, denied, markers int
	for i := 0; i < 120; i++ {
		out, _ := s.run(t, "./prog signed-ran", "")
		markers += strings.Count(out, "uid=")
		ran += strings.Count(out, "signed-ran")
		if strings.Contains(out, "rule: "+RuleSignature) {
			denied++
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("race: %d signed runs, %d signature denials, %d unsigned markers", ran, denied, markers)
	if markers != 0 {
		t.Fatalf("the unsigned bytes ran %d times", markers)
	}
	if ran == 0 || denied == 0 {
		t.Fatalf("the race did not exercise both outcomes (%d runs, %d denials)", ran, denied)
	}
}
