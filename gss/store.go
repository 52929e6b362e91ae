package gss

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// Store is a flat object store: the only thing a GSS backend must do.
type Store interface {
	// Put stores body under key. With ifAbsent it fails with ErrExists
	// when the key is taken, atomically (two writers: one wins).
	Put(ctx context.Context, key string, body io.Reader, size int64, ifAbsent bool) error
	// Get opens the object; ErrNotFound when missing.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Has reports whether the object exists.
	Has(ctx context.Context, key string) (bool, error)
	// List returns every key starting with prefix, sorted.
	List(ctx context.Context, prefix string) ([]string, error)
}

// checkKey refuses keys that could escape a directory or confuse a URL.
func checkKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") || strings.Contains(key, "//") {
		return reason(ErrBadName, fmt.Sprintf("object key %q is empty or has a leading, trailing or double '/'", key))
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "." || seg == ".." {
			return reason(ErrBadName, fmt.Sprintf("object key %q has a '.' or '..' segment", key))
		}
	}
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-%@", r)) {
			return reason(ErrBadName, fmt.Sprintf("object key %q has character %q", key, r))
		}
	}
	return nil
}

// Key layout.
func chunkKey(sum string) string { return "chunks/" + sum[:2] + "/" + sum }

func userPrefix(user string) string { return "users/" + url.PathEscape(user) + "/" }

func manifestPrefix(user string) string { return userPrefix(user) + "manifests/" }

func manifestKey(user string, version int64) string {
	return fmt.Sprintf("%s%012d.json", manifestPrefix(user), version)
}

// CheckUser refuses a user name that cannot name a GSS space.
func CheckUser(user string) error {
	if user == "" || len(user) > 128 || strings.ContainsAny(user, "/\x00") || user == "." || user == ".." {
		return reason(ErrBadName, fmt.Sprintf("user name %q is empty, too long, '.', '..' or holds '/'", user))
	}
	return checkKey(userPrefix(user) + "x")
}
