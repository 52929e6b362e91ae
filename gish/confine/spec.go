package confine

import (
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Marker is os.Args[1] of the helper: `igrid gish-exec SPEC TARGET ARGV...`.
const Marker = "gish-exec"

// ErrNoLandlock means the kernel offers no Landlock (or less than the
// policy's minimum ABI) and the Spec requires it.
var ErrNoLandlock = errors.New("landlock unavailable")

// Spec is one confinement: what the started program and everything it
// starts may read, write and execute. Paths are absolute.
type Spec struct {
	Read  []string `json:"read,omitempty"`  // read-only files and trees, no execute
	Write []string `json:"write,omitempty"` // read-write trees, no execute
	Exec  []string `json:"exec,omitempty"`  // files that may be execve'd (read + execute)
	Dev   []string `json:"dev,omitempty"`   // device files and trees: read, write, ioctl
	// MinABI is the lowest Landlock ABI the policy accepts; a kernel with
	// less refuses to start the program (unless Landlock is off).
	MinABI int `json:"min_abi,omitempty"`
	// Off disables Landlock (no_new_privs and limits still apply). Only a
	// policy may set it; tests use it as the control case.
	Off bool `json:"off,omitempty"`
	// NProc is RLIMIT_NPROC; 0 leaves it alone.
	NProc int `json:"nproc,omitempty"`
}

// Encode is the Spec as the helper's argument.
func (s *Spec) Encode() string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Decode parses a helper argument.
func Decode(arg string) (*Spec, error) {
	var s Spec
	if err := json.Unmarshal([]byte(arg), &s); err != nil {
		return nil, fmt.Errorf("confine: bad spec: %w", err)
	}
	return &s, nil
}

// Argv is the helper command line that runs target (a real path) with
// argv under s: exe is the helper binary, normally /proc/self/exe.
func Argv(exe, spec, target string, argv []string) []string {
	out := make([]string, 0, len(argv)+4)
	out = append(out, exe, Marker, spec, target)
	return append(out, argv...)
}

// Interpreters returns the ELF program interpreters (ld.so) of the given
// executables: the kernel execs them too, so they need the execute right.
// Scripts and static binaries have none.
func Interpreters(paths []string) []string {
	seen := map[string]bool{}
	for _, p := range paths {
		f, err := elf.Open(p)
		if err != nil {
			continue
		}
		for _, prog := range f.Progs {
			if prog.Type != elf.PT_INTERP {
				continue
			}
			b := make([]byte, prog.Filesz)
			if _, err := prog.ReadAt(b, 0); err == nil {
				in := string(b)
				if i := len(in) - 1; i >= 0 && in[i] == 0 {
					in = in[:i]
				}
				if real, err := filepath.EvalSymlinks(in); err == nil {
					seen[real] = true
				}
			}
		}
		f.Close()
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// existing keeps the paths that exist, so that a node without /lib64 or
// /dev/tty still confines (a missing path is no right, never a wider one).
func existing(paths []string) []string {
	out := paths[:0:0]
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}
