package gish

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDenyFilesBeatAreas(t *testing.T) {
	p := testPolicy(t)
	home := p.WriteAreas[0]
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	os.WriteFile(filepath.Join(home, ".ssh", "key"), []byte("k"), 0o600)
	os.Symlink(filepath.Join(home, ".ssh", "key"), filepath.Join(home, "innocent"))
	p.DenyFiles = []string{filepath.Join(home, ".ssh") + "/**", "/etc/shadow"}
	tests := []struct {
		path  string
		write bool
		ok    bool
	}{
		{filepath.Join(home, "notes.txt"), true, true},
		{filepath.Join(home, ".ssh", "authorized_keys"), true, false},
		{filepath.Join(home, ".ssh"), false, false},
		{filepath.Join(home, "innocent"), true, false}, // a symlink into the denied directory
		{"/etc/shadow", false, false},
		{"/etc/hostname", false, true},
	}
	for _, tc := range tests {
		check := p.CheckRead
		if tc.write {
			check = p.CheckWrite
		}
		err := check(tc.path)
		if (err == nil) != tc.ok {
			t.Errorf("%s (write %v) = %v, want ok=%v", tc.path, tc.write, err, tc.ok)
		}
		if d, isD := err.(*Denial); err != nil && (!isD || d.Rule != RuleDenyFiles) {
			t.Errorf("%s: %v, want rule %s", tc.path, err, RuleDenyFiles)
		}
	}
}
