package confine

import (
	"fmt"
	"os"
	"syscall"

	"github.com/landlock-lsm/go-landlock/landlock"
	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// ABI is the kernel's Landlock ABI version; 0 when it has none.
func ABI() int {
	v, err := ll.LandlockGetABIVersion()
	if err != nil {
		return 0
	}
	return v
}

// Rights a rule grants. Files and directories take different sets: the
// kernel refuses directory rights on a file.
const (
	fileRead  = landlock.AccessFSSet(ll.AccessFSReadFile)
	dirRead   = fileRead | landlock.AccessFSSet(ll.AccessFSReadDir)
	fileExec  = fileRead | landlock.AccessFSSet(ll.AccessFSExecute)
	fileWrite = fileRead | landlock.AccessFSSet(ll.AccessFSWriteFile|ll.AccessFSTruncate)
	dirWrite  = dirRead | fileWrite | landlock.AccessFSSet(ll.AccessFSRemoveDir|ll.AccessFSRemoveFile|
		ll.AccessFSMakeDir|ll.AccessFSMakeReg|ll.AccessFSMakeSym|ll.AccessFSMakeFifo|ll.AccessFSMakeSock|ll.AccessFSRefer)
	devRights = fileWrite | landlock.AccessFSSet(ll.AccessFSIoctlDev)
)

// handled is every filesystem right up to ABI 5 that the kernel knows: what
// the domain denies unless a rule grants it.
func handled(abi int) landlock.AccessFSSet {
	var all landlock.AccessFSSet
	for _, c := range []landlock.Config{landlock.V1, landlock.V2, landlock.V3, landlock.V4, landlock.V5} {
		if abi >= 1 {
			all = c.HandledAccessFS
		}
		abi--
	}
	return all
}

// Apply confines the calling process (all its threads) for good: no new
// privileges, the process limit, then the Landlock domain.
func Apply(s *Spec) error {
	if err := ll.AllThreadsPrctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("confine: no_new_privs: %w", err)
	}
	if s.NProc > 0 {
		lim := &unix.Rlimit{Cur: uint64(s.NProc), Max: uint64(s.NProc)}
		if err := unix.Setrlimit(unix.RLIMIT_NPROC, lim); err != nil {
			return fmt.Errorf("confine: RLIMIT_NPROC: %w", err)
		}
	}
	if s.Off {
		return nil
	}
	abi := ABI()
	if abi == 0 || abi < s.MinABI {
		return fmt.Errorf("%w: kernel ABI %d, policy requires %d", ErrNoLandlock, abi, max(s.MinABI, 1))
	}
	fs := handled(abi)
	args := []any{fs}
	if abi >= 6 {
		args = append(args, landlock.ScopedSet(ll.ScopeSignal|ll.ScopeAbstractUnixSocket))
	}
	cfg, err := landlock.NewConfig(args...)
	if err != nil {
		return fmt.Errorf("confine: %w", err)
	}
	var rules []landlock.Rule
	add := func(file, dir landlock.AccessFSSet, paths []string) {
		for _, p := range existing(paths) {
			r := file
			if st, err := os.Stat(p); err == nil && st.IsDir() {
				r = dir
			}
			rules = append(rules, landlock.PathAccess(r&fs, p))
		}
	}
	add(fileRead, dirRead, s.Read)
	add(fileWrite, dirWrite, s.Write)
	add(fileExec, fileExec|landlock.AccessFSSet(ll.AccessFSReadDir), s.Exec)
	add(devRights, devRights|landlock.AccessFSSet(ll.AccessFSReadDir), s.Dev)
	// Restrict, not RestrictPaths: RestrictPaths keeps only the filesystem
	// rights of cfg and silently drops the signal and socket scopes.
	if err := cfg.Restrict(rules...); err != nil {
		return fmt.Errorf("confine: landlock: %w", err)
	}
	return nil
}

// Main is the helper entry (os.Args = exe, Marker, spec, target, argv...):
// confine, then execve the target. It returns only on failure, with 126
// as a shell does for a program it cannot run.
func Main() int {
	if len(os.Args) < 5 {
		fmt.Fprintln(os.Stderr, "gish-exec: started by GISH only")
		return 126
	}
	spec, err := Decode(os.Args[2])
	if err == nil {
		err = Apply(spec)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gish: %s: %v\n", os.Args[4], err)
		return 126
	}
	err = syscall.Exec(os.Args[3], os.Args[4:], os.Environ())
	fmt.Fprintf(os.Stderr, "gish: %s: %v\n", os.Args[4], err)
	return 126
}
