package gish

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// policyStamp identifies one version of the policy file.
type policyStamp struct {
	mod  time.Time
	size int64
}

// refreshPolicy re-reads cfg.PolicyFile when the node rewrote it, so a
// reload (tighter or looser rules) holds from the next line on. The node
// replaces the file by rename, so a read never sees half a policy; a file
// that cannot be read or decoded leaves the rules in force unchanged and
// is reported once. Programs already running keep the confinement they
// started under (Landlock cannot be lifted or changed from outside).
func (sh *Shell) refreshPolicy() {
	path := sh.cfg.PolicyFile
	if path == "" {
		return
	}
	st, err := os.Stat(path)
	if err != nil {
		return
	}
	stamp := policyStamp{st.ModTime(), st.Size()}
	if stamp == sh.polStamp {
		return
	}
	sh.polStamp = stamp
	p, err := readPolicy(path)
	if err != nil {
		fmt.Fprintf(sh.stderr, "gish: policy update not applied, the current rules stay: %v\n", err)
		return
	}
	if sh.cfg.LimitProcesses && sh.cfg.MaxProcesses > 0 {
		p.MaxProcesses = sh.cfg.MaxProcesses
	}
	sh.policy = p
	sh.buildSpecs()
}

func readPolicy(path string) (*Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p Policy
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := p.prepare(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &p, nil
}
