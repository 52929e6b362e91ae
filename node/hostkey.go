package node

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	gossh "golang.org/x/crypto/ssh"
)

// HostKeyFile is the node's SSH host key inside DataDir, generated once so
// that users' known_hosts stay valid across restarts.
const HostKeyFile = "ssh_host_ed25519"

// loadHostKey returns the PEM host key in dir, generating it on first use.
func loadHostKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, HostKeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		if _, err := gossh.ParsePrivateKey(b); err != nil {
			return nil, fmt.Errorf("host key %s: %w", path, err)
		}
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("host key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := gossh.MarshalPrivateKey(priv, "igrid node host key")
	if err != nil {
		return nil, err
	}
	b = pem.EncodeToMemory(block)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return nil, fmt.Errorf("write host key: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("write host key: %w", err)
	}
	return b, nil
}
