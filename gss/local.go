package gss

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Dir is the local-directory backend: one file per object under Root
// (igrid dev, and a shared file system between nodes).
type Dir struct {
	Root string
}

var _ Store = (*Dir)(nil)

// NewDir returns a Dir store, creating root (mode 0700).
func NewDir(root string) (*Dir, error) {
	if err := os.MkdirAll(filepath.Join(root, ".tmp"), 0o700); err != nil {
		return nil, fmt.Errorf("gss dir: %w", err)
	}
	return &Dir{Root: root}, nil
}

func (d *Dir) path(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	return filepath.Join(d.Root, filepath.FromSlash(key)), nil
}

// Put writes to a temporary file, then renames (or, ifAbsent, links) it
// into place, so readers never see half an object.
func (d *Dir) Put(ctx context.Context, key string, body io.Reader, size int64, ifAbsent bool) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	tmp := filepath.Join(d.Root, ".tmp", hex.EncodeToString(b))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	n, err := io.Copy(f, body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if size >= 0 && n != size {
		return fmt.Errorf("put %s: got %d bytes, want %d", key, n, size)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	if ifAbsent {
		if err := os.Link(tmp, p); errors.Is(err, fs.ErrExist) {
			return reason(ErrExists, fmt.Sprintf("object %s already exists", key))
		} else if err != nil {
			return err
		}
		return nil
	}
	return os.Rename(tmp, p)
}

// Get opens the object file.
func (d *Dir) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, reason(ErrNotFound, fmt.Sprintf("object %s not found", key))
	}
	return f, err
}

// Has stats the object file.
func (d *Dir) Has(ctx context.Context, key string) (bool, error) {
	p, err := d.path(key)
	if err != nil {
		return false, err
	}
	_, err = os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// List walks the directory of the prefix.
func (d *Dir) List(ctx context.Context, prefix string) ([]string, error) {
	base := d.Root
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		base = filepath.Join(d.Root, filepath.FromSlash(prefix[:i]))
	}
	var out []string
	err := filepath.WalkDir(base, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if e.IsDir() {
			if e.Name() == ".tmp" {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(d.Root, p)
		if err != nil {
			return err
		}
		if key := filepath.ToSlash(rel); strings.HasPrefix(key, prefix) {
			out = append(out, key)
		}
		return nil
	})
	slices.Sort(out)
	return out, err
}
