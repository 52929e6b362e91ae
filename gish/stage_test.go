package gish

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStageUserBinary(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	src := filepath.Join(t.TempDir(), "prog")
	body := []byte("#!/bin/true\nprogram\n")
	os.WriteFile(src, body, 0o755)
	sig, _ := Sign(priv, src)
	sum := sha256.Sum256(body)
	pr, pw, _ := os.Pipe()
	defer pr.Close()
	defer pw.Close()
	open := func() *os.File {
		f, err := os.Open(src)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	loose := filepath.Join(t.TempDir(), "loose")
	os.Mkdir(loose, 0o777)
	os.Chmod(loose, 0o777)
	tests := []struct {
		name    string
		dir     string
		f       *os.File
		sig     []byte
		trusted []ed25519.PublicKey
		want    string // error text; "" = staged
	}{
		{"signed", "", open(), sig, []ed25519.PublicKey{pub}, ""},
		{"pipe", "", pr, sig, []ed25519.PublicKey{pub}, "is not a regular file"},
		{"malformed signature", "", open(), []byte("bm90IGEgc2ln\n"), []ed25519.PublicKey{pub}, "malformed signature"},
		{"untrusted signer", "", open(), sig, []ed25519.PublicKey{other}, "not signed by a signer"},
		{"no signer", "", open(), sig, nil, "trusts no signer"},
		{"writable stage dir", filepath.Join(loose, "s-1"), open(), sig, []ed25519.PublicKey{pub}, "not a directory only the agent may write"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir
			if dir == "" {
				dir = StageDir(t.TempDir(), "s-1")
			}
			path, err := StageUserBinary(dir, tc.f, tc.sig, tc.trusted)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want %q", err, tc.want)
				}
				if ents, _ := os.ReadDir(dir); len(ents) != 0 {
					t.Fatalf("a refused stage left %d files in %s", len(ents), dir)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(path)
			got, _ := os.ReadFile(path)
			if err != nil || fi.Mode().Perm() != 0o555 || filepath.Base(path) != hex.EncodeToString(sum[:]) || string(got) != string(body) {
				t.Fatalf("staged %s: %v %v %q", path, fi, err, got)
			}
		})
	}
	for _, id := range []string{"", ".", "..", "a/b", "x\x00"} {
		if ValidStageSession(id) {
			t.Errorf("ValidStageSession(%q) = true", id)
		}
	}
}
