package gish

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"strings"
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
