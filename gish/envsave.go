package gish

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// EnvFile is the file in the home where GISH keeps the user's exported
// settings (name → value) after each line; a later login of the session
// starts from it, and the node saves it with the home's files as the GSS
// manifest's Vars and gives them back to the next session's GISH
// (ChildConfig.Vars).
const EnvFile = ".igrid_env"

// Limits on the kept settings: bad or oversized ones are dropped, never
// passed on.
const (
	MaxVars     = 100
	MaxVarValue = 4096
)

// sessionVars are set by the node for every session and never taken from
// a saved setting, whatever the policy allows.
var sessionVars = map[string]bool{
	"HOME": true, "USER": true, "LOGNAME": true, "PATH": true, "PWD": true, "OLDPWD": true,
	"TERM": true, "TMPDIR": true, "IGRID_SESSION": true, "IGRID_NODE": true, "SHELL": true,
}

// localeVars pass to programs by default (passEnv) and are kept too.
var localeVars = map[string]bool{"LANG": true, "LC_ALL": true, "LC_CTYPE": true, "LC_MESSAGES": true, "TZ": true}

// sessionDefaults are the values initialEnv gives every session: a
// variable still at its default is not a setting of the user's.
var sessionDefaults = map[string]string{"LANG": "C.UTF-8"}

var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// KeptVar says whether a user's setting name=value travels from session to
// session under policy p: the class's environment allow-list (or a locale
// variable), never a variable the session itself sets, and a plain value.
func KeptVar(p *Policy, name, value string) bool {
	return varName.MatchString(name) && !sessionVars[name] && (localeVars[name] || p.envAllowed(name)) &&
		len(value) <= MaxVarValue && !strings.ContainsRune(value, 0)
}

// FilterVars keeps the settings of vars that KeptVar allows (at most
// MaxVars, by name order) and names the ones dropped.
func FilterVars(p *Policy, vars map[string]string) (map[string]string, []string) {
	kept := map[string]string{}
	var dropped []string
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		if KeptVar(p, name, vars[name]) && len(kept) < MaxVars {
			kept[name] = vars[name]
		} else {
			dropped = append(dropped, name)
		}
	}
	return kept, dropped
}

// initialVars are the session's settings, filtered by the policy: the
// home's EnvFile when an earlier GISH of this session kept one (the latest
// state, unsets included), else those restored from the GSS.
func (sh *Shell) initialVars() []string {
	vars := sh.cfg.Vars
	if v, err := ReadVars(sh.cfg.Home); err == nil && v != nil {
		vars = v
	}
	sh.lastVars, _ = FilterVars(sh.policy, vars)
	var out []string
	for _, name := range slices.Sorted(maps.Keys(sh.lastVars)) {
		out = append(out, name+"="+sh.lastVars[name])
	}
	return out
}

// exportedVars are the shell's exported settings that KeptVar allows.
func (sh *Shell) exportedVars() map[string]string {
	vars := map[string]string{}
	for name, v := range sh.runner.Vars {
		if d, ok := sessionDefaults[name]; v.Exported && v.IsSet() && (!ok || v.String() != d) {
			vars[name] = v.String()
		}
	}
	kept, _ := FilterVars(sh.policy, vars)
	return kept
}

// saveVars writes the kept exported settings to the home's EnvFile when
// they differ from what the session started with or last wrote. GISH runs
// as the account: the file is the user's own, like the shell history.
func (sh *Shell) saveVars() {
	if sh.runner == nil || sh.cfg.Home == "" {
		return
	}
	vars := sh.exportedVars()
	if maps.Equal(vars, sh.lastVars) {
		return
	}
	if err := WriteVars(sh.cfg.Home, vars); err != nil {
		fmt.Fprintf(sh.stderr, "gish: keeping your settings: %v\n", err)
		return
	}
	sh.lastVars = vars
}

// WriteVars replaces dir's EnvFile with vars (JSON, mode 0600).
func WriteVars(dir string, vars map[string]string) error {
	b, err := json.Marshal(vars)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, EnvFile+".*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(b, '\n'))
	err = errors.Join(err, tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, EnvFile))
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// ReadVars reads dir's EnvFile without following a symlink or blocking on
// a FIFO: the node calls it as root on a home the user controls. A missing
// file is (nil, nil).
func ReadVars(dir string) (map[string]string, error) {
	f, err := openNoFollow(filepath.Join(dir, EnvFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrBadEnvFile, EnvFile, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > MaxVars*(MaxVarValue+64) {
		return nil, fmt.Errorf("%w %s: not a regular file of at most %d bytes", ErrBadEnvFile, EnvFile, MaxVars*(MaxVarValue+64))
	}
	var vars map[string]string
	if err := json.NewDecoder(f).Decode(&vars); err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrBadEnvFile, EnvFile, err)
	}
	return vars, nil
}

func openNoFollow(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}
