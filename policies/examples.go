package policies

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Examples is the example policy set shipped in policies/examples, used by
// `igrid dev` when it creates its policies directory.
//
//go:embed examples/*.yaml
var Examples embed.FS

// WriteExamples copies the example class files into dir (created if
// missing), leaving files that already exist untouched so that an
// administrator's edits survive a restart of `igrid dev`.
func WriteExamples(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return fs.WalkDir(Examples, "examples", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		dst := filepath.Join(dir, filepath.Base(p))
		if _, err := os.Stat(dst); err == nil {
			return nil
		}
		b, err := Examples.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return fmt.Errorf("policies: write example %s: %w", dst, err)
		}
		return nil
	})
}
