package gish

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// MaxUserBinary bounds the size of a user binary the agent stages.
const MaxUserBinary = 256 << 20

// stageSlots bounds the copies made at once: a copy is written before its
// signature can be checked, so many callers could otherwise fill the
// agent's disk with MaxUserBinary temporaries.
var stageSlots = make(chan struct{}, 2)

// StageDir is the per-session stage directory below the agent's data dir:
// DataDir/ubam/<session>. It and its files belong to root; the session's
// account may read and execute them, never write them.
func StageDir(dataDir, session string) string { return filepath.Join(dataDir, "ubam", session) }

// StageUserBinary is the agent's (root's) half of UbAM: it copies the file
// the caller opened (f, received over the SAC socket, never a path root
// resolves) into dir, hashing while it copies, verifies sig (the text of
// FILE.sig) with the trusted keys over exactly the copied bytes, and only
// then makes the copy visible as dir/<sha256>, mode 0555. The returned path
// is what GISH executes: its bytes are the bytes that were verified and no
// one but root can change them.
func StageUserBinary(dir string, f *os.File, sig []byte, trusted []ed25519.PublicKey) (string, error) {
	if err := checkStageSource(f); err != nil {
		return "", err
	}
	raw, err := decodeSignature(sig)
	if err != nil {
		return "", err
	}
	if err := makeStageDir(dir); err != nil {
		return "", err
	}
	stageSlots <- struct{}{}
	defer func() { <-stageSlots }()
	tmp, err := os.CreateTemp(dir, ".stage-*")
	if err != nil {
		return "", fmt.Errorf("stage: %w", err)
	}
	defer os.Remove(tmp.Name()) // after the rename there is nothing left to remove
	defer tmp.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.NewSectionReader(f, 0, MaxUserBinary+1))
	switch {
	case err != nil:
		return "", fmt.Errorf("cannot be read for staging: %v", err)
	case n > MaxUserBinary:
		return "", fmt.Errorf("is larger than %d MiB, the most a user binary may be", MaxUserBinary>>20)
	}
	sum := h.Sum(nil)
	if err := verifySum(sum, raw, trusted); err != nil {
		return "", err
	}
	if err := tmp.Chmod(0o555); err != nil {
		return "", fmt.Errorf("stage: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return "", fmt.Errorf("stage: %w", err)
	}
	path := filepath.Join(dir, hex.EncodeToString(sum))
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("stage: %w", err)
	}
	return path, nil
}

// checkStageSource accepts a regular file opened for reading only: no
// pipe, device or socket that could stall or feed the copy forever.
func checkStageSource(f *os.File) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("cannot be examined for staging: %v", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("is not a regular file")
	}
	if st.Size > MaxUserBinary {
		return fmt.Errorf("is larger than %d MiB, the most a user binary may be", MaxUserBinary>>20)
	}
	return nil
}

// makeStageDir makes dir (and its parent) root-owned 0755; an existing
// one must be a real directory owned by root.
func makeStageDir(dir string) error {
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Mkdir(d, 0o755); err != nil && !os.IsExist(err) {
			return fmt.Errorf("stage dir: %w", err)
		}
		var st unix.Stat_t
		if err := unix.Lstat(d, &st); err != nil {
			return fmt.Errorf("stage dir: %w", err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != os.Geteuid() || st.Mode&0o022 != 0 {
			return fmt.Errorf("stage dir %s is not a directory only the agent may write", d)
		}
	}
	return nil
}

// ValidStageSession reports whether a session id can name a stage dir.
func ValidStageSession(id string) bool {
	return id != "" && id != "." && id != ".." && !strings.ContainsAny(id, "/\x00") && len(id) <= 200
}

// decodeSignature reads the text of FILE.sig: base64 of 64 bytes.
func decodeSignature(text []byte) ([]byte, error) {
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(text)))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("has a malformed signature file")
	}
	return sig, nil
}

// verifySum accepts sig over sum by one of the trusted keys.
func verifySum(sum, sig []byte, trusted []ed25519.PublicKey) error {
	if len(trusted) == 0 {
		return fmt.Errorf("the class trusts no signer")
	}
	for _, k := range trusted {
		if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, sum, sig) {
			return nil
		}
	}
	return fmt.Errorf("is not signed by a signer the class policy trusts")
}
