package gish

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"

	"mvdan.cc/sh/v3/interp"
)

// readDirHandler serves globbing (and completion): only directories inside
// the readable areas are listed, so `/usr/bin/*` or `../*` outside them
// expands to nothing instead of telling what is there.
func (sh *Shell) readDirHandler(ctx context.Context, path string) ([]fs.DirEntry, error) {
	path = sh.abs(ctx, path)
	if err := sh.policy.checkListable(path); err != nil {
		return nil, &os.PathError{Op: "readdir", Path: path, Err: os.ErrPermission}
	}
	return os.ReadDir(path)
}

// statHandler serves `test -e/-f/-d`, `cd` and the like: outside the
// readable areas a path looks absent, so the shell cannot probe it.
func (sh *Shell) statHandler(ctx context.Context, name string, follow bool) (fs.FileInfo, error) {
	name = sh.abs(ctx, name)
	if err := sh.policy.checkListable(name); err != nil {
		return nil, &os.PathError{Op: "stat", Path: name, Err: os.ErrNotExist}
	}
	if follow {
		return os.Stat(name)
	}
	return os.Lstat(name)
}

func (sh *Shell) abs(ctx context.Context, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(interp.HandlerCtx(ctx).Dir, p)
}

// checkListable is CheckRead that also refuses paths that do not resolve.
func (p *Policy) checkListable(path string) error {
	if p.beneath(path, p.WriteAreas) == beneathYes || p.beneath(path, p.ReadAreas) == beneathYes {
		return nil
	}
	real, err := kernelPath(path)
	if err != nil {
		return err
	}
	if _, ok := within(real, p.ReadAreas, p.WriteAreas, devFiles); ok {
		return nil
	}
	if _, ok := p.byReal[real]; ok {
		return nil
	}
	return &Denial{Subject: path, Rule: RuleRead, Reason: "is outside the areas class " + p.Class + " may read"}
}
