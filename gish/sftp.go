package gish

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/igrid/igrid/gish/confine"
	"github.com/pkg/sftp"
)

// SubsystemSFTP is the one SSH subsystem the server offers: sftp (and scp,
// which OpenSSH ≥ 9 speaks over sftp), served by `igrid gish` as the
// dynamic account with every path checked against the file areas.
const SubsystemSFTP = "sftp"

// sftpFiles is the request handler: reads inside the read (or write)
// areas, everything that changes a file inside the write areas, each path
// opened beneath its area.
type sftpFiles struct {
	p    *Policy
	home string
}

var (
	_ sftp.FileReader = (*sftpFiles)(nil)
	_ sftp.FileWriter = (*sftpFiles)(nil)
	_ sftp.FileCmder  = (*sftpFiles)(nil)
	_ sftp.FileLister = (*sftpFiles)(nil)
)

// serveSFTP serves the sftp protocol on rw until the client leaves. The
// process first confines itself with the session's Landlock domain, so the
// kernel holds the same areas as the checks.
func serveSFTP(p *Policy, spec *confine.Spec, home string, rw io.ReadWriteCloser) error {
	s := *spec
	s.Exec = nil // the sftp server runs nothing
	if err := confine.Apply(&s); err != nil {
		return err
	}
	h := &sftpFiles{p: p, home: home}
	srv := sftp.NewRequestServer(rw, sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h},
		sftp.WithStartDirectory(home))
	err := srv.Serve()
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

func (h *sftpFiles) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	f, err := h.p.open(r.Filepath, os.O_RDONLY, 0)
	if err != nil {
		return nil, sftpErr(err)
	}
	return f.(*os.File), nil
}

func (h *sftpFiles) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	flags := os.O_WRONLY | os.O_CREATE
	if r.Pflags().Trunc {
		flags |= os.O_TRUNC
	}
	f, err := h.p.open(r.Filepath, flags, 0o644)
	if err != nil {
		return nil, sftpErr(err)
	}
	return f.(*os.File), nil
}

func (h *sftpFiles) Filecmd(r *sftp.Request) error {
	if err := h.p.CheckWrite(r.Filepath); err != nil {
		return sftpErr(err)
	}
	switch r.Method {
	case "Setstat":
		return h.setstat(r)
	case "Rename":
		if err := h.p.CheckWrite(r.Target); err != nil {
			return sftpErr(err)
		}
		return os.Rename(r.Filepath, r.Target)
	case "Rmdir", "Remove":
		return os.Remove(r.Filepath)
	case "Mkdir":
		return os.Mkdir(r.Filepath, 0o755)
	case "Symlink", "Link":
		return sftp.ErrSSHFxOpUnsupported // links could point anywhere: not offered
	}
	return sftp.ErrSSHFxOpUnsupported
}

func (h *sftpFiles) setstat(r *sftp.Request) error {
	a := r.Attributes()
	if r.AttrFlags().Permissions {
		if err := os.Chmod(r.Filepath, a.FileMode().Perm()); err != nil { // never setuid bits
			return err
		}
	}
	if r.AttrFlags().Size {
		return os.Truncate(r.Filepath, int64(a.Size))
	}
	return nil
}

func (h *sftpFiles) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	if err := h.p.checkListable(r.Filepath); err != nil {
		return nil, sftpErr(err)
	}
	switch r.Method {
	case "List":
		ents, err := os.ReadDir(r.Filepath)
		if err != nil {
			return nil, err
		}
		var out listerAt
		for _, e := range ents {
			if info, err := e.Info(); err == nil {
				out = append(out, info)
			}
		}
		return out, nil
	case "Stat":
		st, err := os.Stat(r.Filepath)
		if err != nil {
			return nil, err
		}
		return listerAt{st}, nil
	case "Readlink":
		t, err := os.Readlink(r.Filepath)
		if err != nil {
			return nil, err
		}
		return listerAt{fakeInfo(filepath.Clean(t))}, nil
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

// sftpErr shows a denial to the client as "permission denied" with the
// reason (pkg/sftp sends the error text).
func sftpErr(err error) error {
	if IsDenial(err) {
		return &os.PathError{Op: "gish", Path: "", Err: err}
	}
	return err
}

type listerAt []os.FileInfo

func (l listerAt) ListAt(ls []os.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(ls, l[off:])
	if n < len(ls) {
		return n, io.EOF
	}
	return n, nil
}

// fakeInfo names a readlink target (sftp wants a FileInfo).
type fakeInfo string

func (f fakeInfo) Name() string       { return string(f) }
func (f fakeInfo) Size() int64        { return 0 }
func (f fakeInfo) Mode() os.FileMode  { return os.ModeSymlink }
func (f fakeInfo) ModTime() time.Time { return time.Time{} }
func (f fakeInfo) IsDir() bool        { return false }
func (f fakeInfo) Sys() any           { return nil }
