package gss

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"
)

// PutFile stores r as the file p (relative to the home) in user's space,
// as a new version; missing parent directories are added. It is the API's
// upload (the portal's file transfer). Over the per-user quota nothing is
// written.
func (s *Service) PutFile(ctx context.Context, user, p string, r io.Reader) (*Manifest, error) {
	if err := CheckUser(user); err != nil {
		return nil, err
	}
	if err := checkEntryPath(p); err != nil {
		return nil, err
	}
	m, err := s.Latest(ctx, user)
	if errors.Is(err, ErrNotFound) {
		m, err = &Manifest{User: user}, nil
	}
	if err != nil {
		return nil, err
	}
	e := Entry{Path: p, Type: TypeFile, Mode: 0o644, MTime: time.Now().UTC()}
	var st SaveStats
	buf := make([]byte, s.cfg.ChunkSize)
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			e.Size += int64(n)
			if s.cfg.UserQuota > 0 && m.Size+e.Size > s.cfg.UserQuota {
				return nil, reason(ErrQuota, fmt.Sprintf("upload of %s for %s goes over the per-user quota of %d bytes: not saved", p, user, s.cfg.UserQuota))
			}
			sum := sha256hex(buf[:n])
			e.Chunks = append(e.Chunks, sum)
			if err := s.putChunk(ctx, sum, bytes.Clone(buf[:n]), &st); err != nil {
				return nil, err
			}
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return nil, rerr
		}
	}
	next := &Manifest{User: user, Node: s.cfg.Node, Vars: m.Vars}
	for _, old := range m.Entries {
		switch {
		case old.Path == p:
			if old.Type == TypeFile {
				e.Mode = old.Mode
			}
		case strings.HasPrefix(old.Path, p+"/"): // a directory the file replaces
		case isParent(old.Path, p) && old.Type != TypeDir:
			return nil, reason(ErrBadName, fmt.Sprintf("cannot put %s: %s is a %s", p, old.Path, old.Type))
		default:
			next.Entries = append(next.Entries, old)
			if old.Type == TypeFile {
				next.Size += old.Size
			}
		}
	}
	for d := path.Dir(p); d != "."; d = path.Dir(d) {
		if !slices.ContainsFunc(next.Entries, func(x Entry) bool { return x.Path == d }) {
			next.Entries = append(next.Entries, Entry{Path: d, Type: TypeDir, Mode: 0o755, MTime: e.MTime})
		}
	}
	next.Entries = append(next.Entries, e)
	next.Size += e.Size
	slices.SortFunc(next.Entries, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	if err := s.checkQuota(user, next.Size, 0); err != nil {
		return nil, err
	}
	return next, s.publish(ctx, next)
}

func isParent(dir, p string) bool { return strings.HasPrefix(p, dir+"/") }

// GetFile opens the file p of user's latest version (the API's download).
func (s *Service) GetFile(ctx context.Context, user, p string) (io.ReadCloser, *Entry, error) {
	if err := checkEntryPath(p); err != nil {
		return nil, nil, err
	}
	m, err := s.Latest(ctx, user)
	if err != nil {
		return nil, nil, err
	}
	e, ok := m.index()[p]
	if !ok || e.Type != TypeFile {
		return nil, nil, reason(ErrNotFound, fmt.Sprintf("%s has no file %s in GSS", user, p))
	}
	pr, pw := io.Pipe()
	go func() {
		for _, sum := range e.Chunks {
			b, err := s.readChunk(ctx, sum)
			if err == nil {
				_, err = pw.Write(b)
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.Close()
	}()
	return pr, e, nil
}

// Usage is the size of user's latest version in GSS.
func (s *Service) Usage(ctx context.Context, user string) (int64, error) {
	m, err := s.Latest(ctx, user)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return m.Size, nil
}
