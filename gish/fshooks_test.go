package gish

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestGlobAndStatStayInAreas(t *testing.T) {
	tests := []struct{ line, out string }{
		{"echo *.txt", "a.txt b.txt\n"},
		{"echo /usr/bin/da*", "/usr/bin/da*\n"}, // not listed: no match
		{"[ -e /usr/bin/dash ] && echo seen || echo hidden", "hidden\n"},
		{"[ -e a.txt ] && echo seen", "seen\n"},
		{"[ -d /etc ] && echo seen", "seen\n"},
		{"cd /usr/bin || echo refused", "refused\n"},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			sh, out, _ := testShell(t)
			for _, f := range []string{"a.txt", "b.txt"} {
				os.WriteFile(filepath.Join(sh.cfg.Home, f), nil, 0o644)
			}
			sh.Run(context.Background(), tc.line)
			if out.String() != tc.out {
				t.Errorf("out %q, want %q", out, tc.out)
			}
		})
	}
}
