package gish

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"strings"

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
// reason a person can read.
func VerifySignature(path string, trusted []ed25519.PublicKey) error {
	if len(trusted) == 0 {
		return fmt.Errorf("the class trusts no signer")
	}
	raw, err := os.ReadFile(path + SigSuffix)
	if err != nil {
		return fmt.Errorf("has no signature (%s%s)", path, SigSuffix)
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("has a malformed signature file")
	}
	sum, err := fileSum(path)
	if err != nil {
		return err
	}
	for _, k := range trusted {
		if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, sum, sig) {
			return nil
		}
	}
	return fmt.Errorf("is not signed by a signer class policy trusts")
}

// checkUserBinary is UbAM for one user binary: "" when signed, "strict"
// when unsigned but the class confines unsigned binaries, else a Denial.
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
// an authorized_keys line ("ssh-ed25519 AAAA… comment") or the raw 32-byte
// key in base64.
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
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("trusted signer %q: want an ssh-ed25519 line or 32 bytes in base64", firstLine(s))
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
