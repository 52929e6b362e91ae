package node

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/igrid/igrid/gish"
)

// TestUserBinaryStagedByTheAgent: a class trusting a signer (policy file
// form "ed25519:…"); over real SSH the session's account runs its signed
// binary, which the agent staged in DataDir/ubam/<session> (root, 0555);
// the same file changed after signing is refused; the stage dir is gone
// after the session ends.
func TestUserBinaryStagedByTheAgent(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: sessions run as real dynamic accounts made with useradd")
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	dir := t.TempDir()
	for _, f := range []string{"tbase.yaml", "tworker.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata/policies", f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "tworker.yaml" {
			b = append(b, []byte("application:\n  user_binaries:\n    trusted_signers:\n      - ed25519:"+
				base64.StdEncoding.EncodeToString(pub)+"\n")...)
		}
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	n := startNodeWith(t, dir)
	now := time.Now()
	if r := n.request(t, n.startCmd("s-ubam", "uma", now.Add(-time.Second), now.Add(time.Hour))); r.Error != "" {
		t.Fatal(r.Error)
	}
	acct, _ := n.Accounts().Lookup("s-ubam")
	prog := filepath.Join(acct.Home, "prog")
	src, err := os.Open("/usr/bin/echo")
	if err != nil {
		t.Skip("needs /usr/bin/echo")
	}
	dst, _ := os.OpenFile(prog, os.O_CREATE|os.O_WRONLY, 0o755)
	io.Copy(dst, src)
	src.Close()
	dst.Close()
	if _, err := gish.SignFile(priv, prog); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{prog, prog + gish.SigSuffix} {
		os.Chown(f, int(acct.UID), int(acct.GID))
	}
	run := func(cmd string) string {
		cl, err := n.dial("uma")
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ss, err := cl.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		defer ss.Close()
		out, _ := ss.CombinedOutput(cmd)
		return string(out)
	}
	if out := run("./prog staged-ran"); !strings.Contains(out, "staged-ran") {
		t.Fatalf("signed binary over ssh: %q", out)
	}
	stage := gish.StageDir(n.cfg.DataDir, "s-ubam")
	ents, err := os.ReadDir(stage)
	if err != nil || len(ents) != 1 {
		t.Fatalf("stage dir %s: %v, %v; want one staged copy", stage, ents, err)
	}
	if fi, _ := os.Stat(filepath.Join(stage, ents[0].Name())); fi == nil || fi.Mode().Perm() != 0o555 {
		t.Fatalf("staged copy mode %v, want 0555", fi)
	}
	f, _ := os.OpenFile(prog, os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{0})
	f.Close()
	if out := run("./prog staged-ran"); strings.Contains(out, "staged-ran") || !strings.Contains(out, "rule: signature") {
		t.Fatalf("changed after signing: %q, want a signature denial", out)
	}
	n.end(t, "s-ubam")
	if _, err := os.Stat(stage); !os.IsNotExist(err) {
		t.Fatalf("stage dir after the session ended: %v", err)
	}
}
