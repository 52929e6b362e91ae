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

func (sh *Shell) encodeSpecs() { sh.specArg = sh.spec.Encode() }

// userSpec is the confinement of one user binary: the normal domain plus
// the right to execute it when signed; the strict domain when not.
func (sh *Shell) userSpec(real string, strict bool) string {
	s := sh.spec
	if strict {
		s = sh.strict
	}
	s.Exec = append(append(append([]string(nil), s.Exec...), real), confine.Interpreters([]string{real})...)
	return s.Encode()
}
