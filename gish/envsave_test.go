package gish

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestKeptVar(t *testing.T) {
	p := &Policy{Env: []string{"EDITOR", "IGT_*"}}
	for _, c := range []struct {
		name, value string
		want        bool
	}{
		{"EDITOR", "vim", true},
		{"IGT_X", "1", true},
		{"LANG", "de_DE.UTF-8", true},
		{"PAGER", "less", false},       // not in the allow-list
		{"LD_PRELOAD", "/x.so", false}, // not in the allow-list
		{"HOME", "/root", false},       // the session sets it
		{"IGRID_SESSION", "x", false},  // the session sets it
		{"bad name", "1", false},
		{"EDITOR", "a\x00b", false},
		{"EDITOR", strings.Repeat("x", MaxVarValue+1), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := KeptVar(p, c.name, c.value); got != c.want {
				t.Errorf("KeptVar(%q, %.20q) = %v, want %v", c.name, c.value, got, c.want)
			}
		})
	}
}

func TestReadVars(t *testing.T) {
	t.Run("roundtrip", func(t *testing.T) {
		dir := t.TempDir()
		if err := WriteVars(dir, map[string]string{"EDITOR": "vim"}); err != nil {
			t.Fatal(err)
		}
		v, err := ReadVars(dir)
		if err != nil || v["EDITOR"] != "vim" || len(v) != 1 {
			t.Fatalf("ReadVars = %v, %v", v, err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		if v, err := ReadVars(t.TempDir()); v != nil || err != nil {
			t.Fatalf("ReadVars = %v, %v; want nil, nil", v, err)
		}
	})
	for name, plant := range map[string]func(string) error{
		"symlink": func(p string) error { return os.Symlink("/etc/shadow", p) },
		"fifo":    func(p string) error { return syscall.Mkfifo(p, 0o600) },
		"garbage": func(p string) error { return os.WriteFile(p, []byte("EDITOR=vim"), 0o600) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := plant(filepath.Join(dir, EnvFile)); err != nil {
				t.Fatal(err)
			}
			if v, err := ReadVars(dir); !errors.Is(err, ErrBadEnvFile) || v != nil {
				t.Fatalf("ReadVars = %v, %v; want ErrBadEnvFile", v, err)
			}
		})
	}
}
