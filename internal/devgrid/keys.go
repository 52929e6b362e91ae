package devgrid

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"os"

	gossh "golang.org/x/crypto/ssh"
)

// writeKeyPair makes an ed25519 key pair at path and path.pub (OpenSSH
// formats, private key 0600) and returns the public key's authorized_keys line.
func writeKeyPair(path, comment string) (string, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	block, err := gossh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return "", err
	}
	os.Remove(path)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return "", err
	}
	spub, err := gossh.NewPublicKey(pub)
	if err != nil {
		return "", err
	}
	line := string(gossh.MarshalAuthorizedKey(spub))
	line = line[:len(line)-1] + " " + comment
	return line, os.WriteFile(path+".pub", []byte(line+"\n"), 0o644)
}

// randomSecret returns n random bytes in hex.
func randomSecret(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
