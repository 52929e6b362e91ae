package gish

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/pem"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// shellWith is an in-process GISH with policy p (home = p's write area).
func shellWith(t *testing.T, p *Policy, sac string) (*Shell, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	r, w, _ := os.Pipe()
	w.Close()
	t.Cleanup(func() { r.Close() })
	var out, errb bytes.Buffer
	home := p.WriteAreas[0]
	sh, err := NewShell(ChildConfig{SessionID: "s-t", User: "tuser", Account: "tacct", Class: p.Class,
		Node: "tn", Home: home, Start: time.Now(), End: time.Now().Add(time.Hour),
		Executables: p.Executables, Policy: p, SACSocket: sac}, r, &out, &errb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sh.Close() })
	return sh, &out, &errb
}

func copyExe(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Skipf("needs %s", from)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(dst, src)
	dst.Close()
}

func TestUserBinaries(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	base := testPolicy(t)
	home := base.WriteAreas[0]
	sign := func(key ed25519.PrivateKey, name string) {
		sig, err := Sign(key, filepath.Join(home, name))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(home, name+SigSuffix), sig, 0o644)
	}
	copyExe(t, "/usr/bin/touch", filepath.Join(home, "signed"))
	sign(priv, "signed")
	copyExe(t, "/usr/bin/touch", filepath.Join(home, "unsigned"))
	copyExe(t, "/usr/bin/touch", filepath.Join(home, "foreign"))
	sign(otherPriv, "foreign")
	copyExe(t, "/usr/bin/touch", filepath.Join(home, "tampered"))
	sign(priv, "tampered")
	f, _ := os.OpenFile(filepath.Join(home, "tampered"), os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{0})
	f.Close()
	tests := []struct {
		name, line, unsigned string
		made                 bool   // the file was created
		rule                 string // the denial's rule, "" for none
	}{
		{"signed runs", "./signed made1", UnsignedDeny, true, ""},
		{"unsigned denied", "./unsigned made2", UnsignedDeny, false, RuleSignature},
		{"untrusted signer denied", "./foreign made3", UnsignedDeny, false, RuleSignature},
		{"changed after signing denied", "./tampered made4", UnsignedDeny, false, RuleSignature},
		{"by absolute path", home + "/unsigned made5", UnsignedDeny, false, RuleSignature},
		{"unsigned confined runs without write rights", "./unsigned made6", UnsignedConfine, false, ""},
	}
	srv := startSAC(t, nil)
	srv.trust(pub)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultPolicy("tc", base.Executables, home)
			p.TrustedSigners, p.Unsigned = []ed25519.PublicKey{pub}, tc.unsigned
			sh, _, errb := shellWith(t, p, srv.path)
			st, _ := sh.Run(context.Background(), tc.line)
			made := strings.Fields(tc.line)[1]
			_, err := os.Stat(filepath.Join(home, made))
			if (err == nil) != tc.made {
				t.Fatalf("%s: file made=%v, want %v (status %d, stderr %q)", tc.line, err == nil, tc.made, st, errb)
			}
			if tc.rule != "" && !strings.Contains(errb.String(), "rule: "+tc.rule) {
				t.Errorf("stderr %q does not name rule %s", errb, tc.rule)
			}
			if tc.unsigned == UnsignedConfine && (st == 0 || !strings.Contains(errb.String(), "ermission denied")) {
				t.Errorf("confined unsigned binary: status %d, stderr %q; want the kernel's refusal", st, errb)
			}
		})
	}
	srv.mu.Lock()
	staged := append([]string(nil), srv.staged...)
	srv.mu.Unlock()
	if len(staged) != 1 {
		t.Fatalf("staged %q, want the one signed binary", staged)
	}
	fi, err := os.Stat(staged[0])
	if err != nil || fi.Mode().Perm() != 0o555 || filepath.Dir(staged[0]) != StageDir(srv.dataDir, "s-t") {
		t.Fatalf("staged copy %s: %v, %v; want mode 0555 in the session's stage dir", staged[0], fi, err)
	}
	t.Run("no agent to stage", func(t *testing.T) {
		p := DefaultPolicy("tc", base.Executables, home)
		p.TrustedSigners = []ed25519.PublicKey{pub}
		sh, _, errb := shellWith(t, p, "")
		if st, _ := sh.Run(context.Background(), "./signed made7"); st == 0 || !strings.Contains(errb.String(), "no node agent socket") {
			t.Fatalf("status %d, stderr %q: a signed binary without a stager must be denied", st, errb)
		}
	})
}

func TestSigningKeysAndSigners(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := gossh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	key, err := ParseSigningKey(pem.EncodeToMemory(block))
	if err != nil || !key.Equal(priv) {
		t.Fatalf("ParseSigningKey: %v", err)
	}
	sp, _ := gossh.NewPublicKey(pub)
	for _, s := range []string{string(gossh.MarshalAuthorizedKey(sp)), base64.StdEncoding.EncodeToString(pub),
		"ed25519:" + base64.StdEncoding.EncodeToString(pub)} {
		k, err := ParseSigner(s)
		if err != nil || !k.Equal(pub) {
			t.Errorf("ParseSigner(%q) = %v, %v", s, k, err)
		}
	}
	for _, bad := range []string{"", "ssh-rsa AAAA", "c2hvcnQ="} {
		if _, err := ParseSigner(bad); err == nil {
			t.Errorf("ParseSigner(%q) accepted", bad)
		}
	}
	f := filepath.Join(t.TempDir(), "prog")
	os.WriteFile(f, []byte("#!/bin/true\n"), 0o755)
	if _, err := SignFile(key, f); err != nil {
		t.Fatal(err)
	}
	if err := VerifySignature(f, []ed25519.PublicKey{pub}); err != nil {
		t.Errorf("verify own signature: %v", err)
	}
}
