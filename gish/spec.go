package gish

import (
	"github.com/igrid/igrid/gish/confine"
)

// buildSpecs derives the kernel confinement of programs from the policy:
// the normal one (read areas, write areas, allowed programs and their
// loaders executable) and the strict one for unsigned user binaries
// (nothing writable, nothing executable but the binary itself).
func (sh *Shell) buildSpecs() {
	p := sh.policy
	exec := p.execFiles()
	exec = append(exec, confine.Interpreters(exec)...)
	sh.spec = confine.Spec{Read: p.ReadAreas, Write: p.WriteAreas, Exec: exec, Dev: devFiles,
		MinABI: p.Landlock.MinABI, Off: p.Landlock.Off, NProc: p.MaxProcesses}
	sh.strict = confine.Spec{Read: append(append([]string(nil), p.ReadAreas...), p.WriteAreas...),
		Dev: devFiles, MinABI: p.Landlock.MinABI, Off: p.Landlock.Off, NProc: p.MaxProcesses}
	sh.encodeSpecs()
}

// encodeSpecs drops the compiled ruleset after the specs changed.
func (sh *Shell) encodeSpecs() {
	sh.rulesMu.Lock()
	defer sh.rulesMu.Unlock()
	sh.rules.Close()
	sh.rules = nil
}

// ruleset is the session's compiled normal confinement, built once.
func (sh *Shell) ruleset() (*confine.Ruleset, error) {
	sh.rulesMu.Lock()
	defer sh.rulesMu.Unlock()
	if sh.rules == nil {
		rs, err := confine.NewRuleset(&sh.spec)
		if err != nil {
			return nil, err
		}
		sh.rules = rs
	}
	return sh.rules, nil
}

// userSpec is the confinement of one user binary: the normal domain plus
// the right to execute it when signed; the strict domain when not.
func (sh *Shell) userSpec(real string, strict bool) *confine.Spec {
	s := sh.spec
	if strict {
		s = sh.strict
	}
	s.Exec = append(append(append([]string(nil), s.Exec...), real), confine.Interpreters([]string{real})...)
	return &s
}
