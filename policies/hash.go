package policies

import (
	"crypto/sha256"
	"encoding/hex"
)

// contentHash is "sha256:" + the hash of every file name and content, in
// name order, each length-prefixed so that no two sets collide by framing.
func contentHash(src map[string][]byte, sortedNames []string) string {
	h := sha256.New()
	var n [8]byte
	put := func(b []byte) {
		l := uint64(len(b))
		for i := range n {
			n[i] = byte(l >> (8 * i))
		}
		h.Write(n[:])
		h.Write(b)
	}
	for _, name := range sortedNames {
		put([]byte(name))
		put(src[name])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
