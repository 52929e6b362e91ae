package gss

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
)

// maxChunk bounds what a chunk read may return.
const maxChunk = 64 << 20

// Config configures a Service.
type Config struct {
	// ChunkSize is the size files are cut into; default 1 MiB.
	ChunkSize int
	// UserQuota bounds each user's GSS space (sum of file sizes of the
	// latest version), in bytes; 0 = none.
	UserQuota int64
	// Node names the node in the manifests it writes.
	Node   string
	Logger *slog.Logger
}

// Service saves and restores users' homes through a Store.
type Service struct {
	store Store
	cfg   Config
	log   *slog.Logger
}

// New returns a Service over store.
func New(store Store, cfg Config) *Service {
	if cfg.ChunkSize <= 0 {
		cfg.ChunkSize = 1 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{store: store, cfg: cfg, log: cfg.Logger.With("component", "gss")}
}

// Store is the backend of the service.
func (s *Service) Store() Store { return s.store }

// SaveOptions tunes one Save.
type SaveOptions struct {
	Session string
	// Vars are the environment settings to keep with the files.
	Vars map[string]string
	// Quota is the SLA's disk quota of the home in bytes; 0 = none. A home
	// over it is not saved (ErrQuota).
	Quota int64
}

// SaveStats says what a Save did.
type SaveStats struct {
	Files, Chunks, NewChunks int
	Unread                   int // files whose chunks were reused without reading them
	Bytes, NewBytes          int64
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Save stores the tree under home as user's next version: new chunks are
// uploaded, unchanged files (same size, mode and mtime as in the latest
// version) reuse their chunks without being read. Symlinks are recorded,
// never followed; sockets, FIFOs and devices are skipped. The home's
// processes must be stopped first. Over a quota nothing is written.
func (s *Service) Save(ctx context.Context, user, home string, opt SaveOptions) (*Manifest, SaveStats, error) {
	var st SaveStats
	if err := CheckUser(user); err != nil {
		return nil, st, err
	}
	prev, err := s.Latest(ctx, user)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, st, err
	}
	root, err := os.OpenRoot(home)
	if err != nil {
		return nil, st, fmt.Errorf("save %s: %w", user, err)
	}
	defer root.Close()
	m := &Manifest{User: user, Node: s.cfg.Node, Session: opt.Session, Vars: opt.Vars}
	if err := scan(root, m); err != nil {
		return nil, st, fmt.Errorf("save %s: %w", user, err)
	}
	if err := s.checkQuota(user, m.Size, opt.Quota); err != nil {
		return nil, st, err
	}
	var old map[string]*Entry
	if prev != nil {
		old = prev.index()
	}
	for i := range m.Entries {
		e := &m.Entries[i]
		if e.Type != TypeFile {
			continue
		}
		st.Files++
		st.Bytes += e.Size
		if o, ok := old[e.Path]; ok && o.Type == TypeFile && o.Size == e.Size && o.Mode == e.Mode && o.MTime.Equal(e.MTime) {
			e.Chunks = o.Chunks
			st.Chunks += len(e.Chunks)
			st.Unread++
			continue
		}
		if err := s.uploadFile(ctx, root, e, &st); err != nil {
			return nil, st, fmt.Errorf("save %s: %s: %w", user, e.Path, err)
		}
	}
	if err := s.publish(ctx, m); err != nil {
		return nil, st, fmt.Errorf("save %s: %w", user, err)
	}
	s.log.Info("saved", "user", user, "version", m.Version, "files", st.Files, "bytes", st.Bytes, "new_chunks", st.NewChunks, "new_bytes", st.NewBytes)
	return m, st, nil
}

func (s *Service) checkQuota(user string, size, quota int64) error {
	if quota > 0 && size > quota {
		return reason(ErrQuota, fmt.Sprintf("home of %s holds %d bytes, over the session's disk quota of %d: not saved", user, size, quota))
	}
	if s.cfg.UserQuota > 0 && size > s.cfg.UserQuota {
		return reason(ErrQuota, fmt.Sprintf("%s would hold %d bytes in GSS, over the per-user quota of %d: not saved", user, size, s.cfg.UserQuota))
	}
	return nil
}

// scan records every entry under root, sorted (WalkDir visits in lexical order).
func scan(root *os.Root, m *Manifest) error {
	return fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		fi, err := root.Lstat(p)
		if err != nil {
			return err
		}
		e := Entry{Path: p, Mode: uint32(fi.Mode().Perm()), MTime: fi.ModTime().UTC()}
		switch {
		case fi.Mode().IsRegular():
			e.Type, e.Size = TypeFile, fi.Size()
			m.Size += e.Size
		case fi.IsDir():
			e.Type = TypeDir
		case fi.Mode()&fs.ModeSymlink != 0:
			e.Type = TypeSymlink
			if e.Target, err = root.Readlink(p); err != nil {
				return err
			}
		default:
			return nil // socket, FIFO, device: not user data
		}
		m.Entries = append(m.Entries, e)
		return nil
	})
}

// uploadFile cuts the file into chunks and uploads the ones the store lacks.
func (s *Service) uploadFile(ctx context.Context, root *os.Root, e *Entry, st *SaveStats) error {
	f, err := root.OpenFile(e.Path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, s.cfg.ChunkSize)
	var size int64
	for {
		n, err := io.ReadFull(f, buf)
		if n > 0 {
			sum := sha256hex(buf[:n])
			e.Chunks = append(e.Chunks, sum)
			size += int64(n)
			st.Chunks++
			if err := s.putChunk(ctx, sum, buf[:n], st); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	e.Size = size // what was read is what is saved
	return nil
}

func (s *Service) putChunk(ctx context.Context, sum string, b []byte, st *SaveStats) error {
	key := chunkKey(sum)
	if ok, err := s.store.Has(ctx, key); err != nil || ok {
		return err
	}
	err := s.store.Put(ctx, key, bytes.NewReader(b), int64(len(b)), true)
	if errors.Is(err, ErrExists) {
		return nil // another node uploaded the same content meanwhile
	}
	if err == nil {
		st.NewChunks++
		st.NewBytes += int64(len(b))
	}
	return err
}

// HomeUsage measures a home: bytes allocated on disk and files, without
// following symlinks. The node reports it (GMMA) and the SLA quota is
// enforced against it where no project quota is available.
func HomeUsage(home string) (allocated int64, files int, err error) {
	err = filepath.WalkDir(home, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // vanished meanwhile
		}
		var st syscall.Stat_t
		if syscall.Lstat(p, &st) == nil {
			allocated += st.Blocks * 512
			if !d.IsDir() {
				files++
			}
		}
		return nil
	})
	return allocated, files, err
}
