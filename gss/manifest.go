package gss

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"
)

// EntryType is the kind of a manifest entry.
type EntryType string

// Entry types. Sockets, FIFOs and devices are not saved.
const (
	TypeFile    EntryType = "file"
	TypeDir     EntryType = "dir"
	TypeSymlink EntryType = "symlink"
)

// Entry is one path of a user's saved home.
type Entry struct {
	Path   string    `json:"path"` // slash-separated, relative to the home, no "..", sorted
	Type   EntryType `json:"type"`
	Mode   uint32    `json:"mode"` // permission bits only (no setuid, setgid or sticky)
	Size   int64     `json:"size,omitempty"`
	MTime  time.Time `json:"mtime"`
	Chunks []string  `json:"chunks,omitempty"` // SHA-256 hex of each chunk, in order
	Target string    `json:"target,omitempty"` // symlink target, never followed
}

// same reports whether e and o have the same content and metadata a restore
// would write (mtime aside).
func (e *Entry) same(o *Entry) bool {
	return e.Type == o.Type && e.Mode == o.Mode && e.Size == o.Size && e.Target == o.Target &&
		strings.Join(e.Chunks, ",") == strings.Join(o.Chunks, ",")
}

// Manifest is one version of a user's GSS space: their home tree and their
// environment settings.
type Manifest struct {
	User    string    `json:"user"`
	Version int64     `json:"version"` // 1, 2, …; the highest is the latest
	Created time.Time `json:"created"`
	Node    string    `json:"node,omitempty"`
	Session string    `json:"session,omitempty"`
	Entries []Entry   `json:"entries"`
	// Vars are the environment variables the user set (the shell's
	// exported settings), restored into their next session.
	Vars map[string]string `json:"vars,omitempty"`
	Size int64             `json:"size"` // sum of the file sizes
}

func (m *Manifest) index() map[string]*Entry {
	idx := make(map[string]*Entry, len(m.Entries))
	for i := range m.Entries {
		idx[m.Entries[i].Path] = &m.Entries[i]
	}
	return idx
}

// checkEntryPath refuses manifest paths that could leave the home.
func checkEntryPath(p string) error {
	if p == "" || p == "." || strings.HasPrefix(p, "/") || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") || strings.ContainsRune(p, 0) {
		return reason(ErrBadName, fmt.Sprintf("path %q is not a clean relative path inside the home", p))
	}
	return nil
}

// check validates a manifest read from the store before it is used.
func (m *Manifest) check() error {
	for i := range m.Entries {
		e := &m.Entries[i]
		if err := checkEntryPath(e.Path); err != nil {
			return err
		}
		if i > 0 && m.Entries[i-1].Path >= e.Path {
			return fmt.Errorf("manifest %s v%d: entries not sorted at %q", m.User, m.Version, e.Path)
		}
		for _, c := range e.Chunks {
			if len(c) != 64 || strings.Trim(c, "0123456789abcdef") != "" {
				return fmt.Errorf("manifest %s v%d: bad chunk id %q", m.User, m.Version, c)
			}
		}
	}
	return nil
}

// Versions lists the saved versions of user, oldest first.
func (s *Service) Versions(ctx context.Context, user string) ([]int64, error) {
	if err := CheckUser(user); err != nil {
		return nil, err
	}
	keys, err := s.store.List(ctx, manifestPrefix(user))
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, k := range keys {
		name := strings.TrimSuffix(strings.TrimPrefix(k, manifestPrefix(user)), ".json")
		if v, err := strconv.ParseInt(name, 10, 64); err == nil {
			out = append(out, v)
		}
	}
	return out, nil
}

// LatestVersion is the highest saved version of user, 0 if none.
func (s *Service) LatestVersion(ctx context.Context, user string) (int64, error) {
	vs, err := s.Versions(ctx, user)
	if err != nil || len(vs) == 0 {
		return 0, err
	}
	return vs[len(vs)-1], nil
}

// Latest reads the latest manifest of user; ErrNotFound if none.
func (s *Service) Latest(ctx context.Context, user string) (*Manifest, error) {
	v, err := s.LatestVersion(ctx, user)
	if err != nil {
		return nil, err
	}
	if v == 0 {
		return nil, reason(ErrNotFound, fmt.Sprintf("user %s has nothing saved in GSS", user))
	}
	return s.Manifest(ctx, user, v)
}

// Manifest reads one version of user's manifest.
func (s *Service) Manifest(ctx context.Context, user string, version int64) (*Manifest, error) {
	if err := CheckUser(user); err != nil {
		return nil, err
	}
	rc, err := s.store.Get(ctx, manifestKey(user, version))
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var m Manifest
	if err := json.NewDecoder(rc).Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest %s v%d: %w", user, version, err)
	}
	if m.User != user || m.Version != version {
		return nil, fmt.Errorf("manifest %s v%d says user %q version %d", user, version, m.User, m.Version)
	}
	return &m, m.check()
}

// publish stores m as the next version after the latest, retrying when
// another node published the same version first.
func (s *Service) publish(ctx context.Context, m *Manifest) error {
	for range 8 {
		v, err := s.LatestVersion(ctx, m.User)
		if err != nil {
			return err
		}
		m.Version, m.Created = v+1, time.Now().UTC()
		b, err := json.Marshal(m)
		if err != nil {
			return err
		}
		err = s.store.Put(ctx, manifestKey(m.User, m.Version), bytes.NewReader(b), int64(len(b)), true)
		if !errors.Is(err, ErrExists) {
			return err
		}
	}
	return fmt.Errorf("manifest of %s: lost the race for a new version 8 times", m.User)
}

// readChunk fetches one chunk and checks its hash.
func (s *Service) readChunk(ctx context.Context, sum string) ([]byte, error) {
	rc, err := s.store.Get(ctx, chunkKey(sum))
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxChunk))
	if err != nil {
		return nil, fmt.Errorf("chunk %s: %w", sum, err)
	}
	if got := sha256hex(b); got != sum {
		return nil, fmt.Errorf("chunk %s: content hashes to %s", sum, got)
	}
	return b, nil
}
