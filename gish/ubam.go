package gish

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	gossh "golang.org/x/crypto/ssh"
)

// SigSuffix names a detached signature: FILE.sig beside FILE.
const SigSuffix = ".sig"

// Sign returns the detached signature of the file's contents: ed25519 over
// its SHA-256, base64 on one line. `igrid sign` writes it to FILE.sig.
func Sign(key ed25519.PrivateKey, path string) ([]byte, error) {
	sum, err := fileSum(path)
	if err != nil {
		return nil, err
	}
	sig := ed25519.Sign(key, sum)
	return []byte(base64.StdEncoding.EncodeToString(sig) + "\n"), nil
}

func fileSum(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// VerifySignature checks path against path.sig with the trusted keys. It
// returns nil when one of them signed exactly these contents, else a
// reason a person can read. (GISH does not rely on it to run a binary:
// the agent verifies the staged copy, StageUserBinary.)
func VerifySignature(path string, trusted []ed25519.PublicKey) error {
	if len(trusted) == 0 {
		return fmt.Errorf("the class trusts no signer")
	}
	raw, err := os.ReadFile(path + SigSuffix)
	if err != nil {
		return fmt.Errorf("has no signature (%s%s)", path, SigSuffix)
	}
	sig, err := decodeSignature(raw)
	if err != nil {
		return err
	}
	sum, err := fileSum(path)
	if err != nil {
		return err
	}
	return verifySum(sum, sig, trusted)
}

// ParseSigningKey reads an ed25519 private key in OpenSSH or PKCS#8 PEM
// form (`ssh-keygen -t ed25519`).
func ParseSigningKey(pem []byte) (ed25519.PrivateKey, error) {
	k, err := gossh.ParseRawPrivateKey(pem)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	switch k := k.(type) {
	case *ed25519.PrivateKey:
		return *k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("signing key: %T is not an ed25519 key", k)
}

// ParseSigner reads a trusted signer's public key as a policy names it:
// an authorized_keys line ("ssh-ed25519 AAAA… comment"), "ed25519:" and the
// raw 32-byte key in base64 (the policy files' form), or that base64 alone.
func ParseSigner(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "ssh-") {
		pk, _, _, _, err := gossh.ParseAuthorizedKey([]byte(s))
		if err != nil {
			return nil, fmt.Errorf("trusted signer %q: %w", firstLine(s), err)
		}
		cp, ok := pk.(gossh.CryptoPublicKey)
		if k, isEd := cp.CryptoPublicKey().(ed25519.PublicKey); ok && isEd {
			return k, nil
		}
		return nil, fmt.Errorf("trusted signer %q: not an ed25519 key", firstLine(s))
	}
	// Policy files write "ed25519:" + base64 (policies.ParseSigner).
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "ed25519:"))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("trusted signer %q: want an ssh-ed25519 line, ed25519:BASE64 or 32 bytes in base64", firstLine(s))
	}
	return ed25519.PublicKey(raw), nil
}

// SignFile writes path.sig for path with key and returns its name.
func SignFile(key ed25519.PrivateKey, path string) (string, error) {
	sig, err := Sign(key, path)
	if err != nil {
		return "", err
	}
	return path + SigSuffix, os.WriteFile(path+SigSuffix, sig, 0o644)
}

// checkUserBinary is UbAM's first look at a user binary, on its path as
// the user sees it: "" when signed, "strict" when unsigned but the class
// confines unsigned binaries, else a Denial. A signed binary then runs only
// as the copy the agent staged and verified (stageUserBinary).
func (p *Policy) checkUserBinary(name, real string) (string, error) {
	err := VerifySignature(real, p.TrustedSigners)
	if err == nil {
		return "", nil
	}
	if p.Unsigned == UnsignedConfine {
		return "strict", nil
	}
	return "", &Denial{Subject: name, Rule: RuleSignature, Reason: err.Error() + " (class " + p.Class + " runs only signed user binaries)"}
}

// maxSigFile bounds FILE.sig (base64 of 64 bytes and a newline).
const maxSigFile = 4 << 10

// stageUserBinary is GISH's half of the staging: it opens the user binary
// as the user (GISH runs as the session's account), reads its signature
// and hands both to the agent over the SAC connection; the agent copies
// the open file, verifies the copy and returns its root-owned path, which
// is what runs. A file rewritten after signing, or swapped while this
// runs, fails the agent's check over the bytes it copied.
func (sh *Shell) stageUserBinary(name, real string) (string, error) {
	deny := func(why string) error {
		return &Denial{Subject: name, Rule: RuleSignature, Reason: why}
	}
	cl := sh.sacClient()
	if cl == nil {
		return "", deny("cannot be staged: the session has no node agent socket (SACSocket) to verify user binaries")
	}
	f, err := os.OpenFile(real, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return "", deny("cannot be opened for staging: " + err.Error())
	}
	defer f.Close()
	sig, err := readSmall(real+SigSuffix, maxSigFile)
	if err != nil {
		return "", deny(fmt.Sprintf("has no readable signature (%s%s)", real, SigSuffix))
	}
	d, err := cl.Stage(name, f, sig)
	switch {
	case err != nil:
		return "", deny("cannot be staged: " + err.Error())
	case !d.Allow:
		return "", deny(d.Message + " (class " + sh.policy.Class + " runs only signed user binaries; staged copy refused: " + d.Reason + ")")
	case !filepath.IsAbs(d.Path):
		return "", deny(fmt.Sprintf("cannot be staged: the agent answered the path %q", d.Path))
	}
	return d.Path, nil
}

// readSmall reads a file of at most max bytes.
func readSmall(path string, max int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err == nil && int64(len(b)) > max {
		err = fmt.Errorf("%s is larger than %d bytes", path, max)
	}
	return b, err
}
