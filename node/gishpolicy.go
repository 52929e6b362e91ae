package node

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/igrid/igrid/gish"
	"github.com/igrid/igrid/internal/bus"
	"github.com/igrid/igrid/policies"
)

// gishPolicy maps a merged class onto what GISH enforces, starting from
// gish.DefaultPolicy (the shipped argument rules of known programs, the
// system read areas, the home writable) and adding the class's own rules:
// file areas, argument rules, the environment allow-list, trusted signers
// what to do with unsigned user binaries, and denied files (which EAM
// refuses even inside an area; Landlock areas cannot carve holes).
func gishPolicy(c *policies.Class, exes map[string]string, home string) *gish.Policy {
	p := gish.DefaultPolicy(c.Name, exes, home)
	p.ReadAreas = appendAreas(p.ReadAreas, c.Account.Read, home)
	p.WriteAreas = appendAreas(p.WriteAreas, c.Account.Write, home)
	p.Env = append(p.Env, c.Account.Env...)
	if c.AccountPool.Kind == "superuser" {
		p.Sudo = c.AccountPool.Sudo // GISH runs `sudo -n` for exactly these (gish/sudo.go)
	}
	for _, pat := range c.Account.DenyFiles {
		if pat == "~" || strings.HasPrefix(pat, "~/") {
			pat = home + pat[1:]
		}
		if filepath.IsAbs(pat) {
			p.DenyFiles = append(p.DenyFiles, pat)
		}
	}
	for prog, r := range c.Account.Arguments {
		name := filepath.Base(prog)
		if _, ok := exes[name]; !ok {
			continue
		}
		p.Programs[name] = mergeArgRule(p.Programs[name], r)
	}
	for _, s := range c.Application.TrustedSigners {
		if k, err := gish.ParseSigner(s); err == nil {
			p.TrustedSigners = append(p.TrustedSigners, k)
		}
	}
	if c.Application.Unsigned == gish.UnsignedConfine {
		p.Unsigned = gish.UnsignedConfine
	}
	return p
}

// appendAreas adds the directories of area patterns ("~/**", "/tmp/**",
// "/srv/data") to areas; patterns with wildcards elsewhere are left to
// the policy engine.
func appendAreas(areas, patterns []string, home string) []string {
	for _, pat := range patterns {
		dir := strings.TrimSuffix(strings.TrimSuffix(pat, "/**"), "/*")
		if dir == "~" || strings.HasPrefix(dir, "~/") {
			dir = home + dir[1:]
		}
		if !filepath.IsAbs(dir) || strings.ContainsAny(dir, "*?[") {
			continue
		}
		areas = append(areas, filepath.Clean(dir))
	}
	return areas
}

// mergeArgRule adds a class's argument rules to the shipped rule of a
// program (nil: none shipped). "+…" options are operands to GISH's
// parser (vim +cmd), so they become a denied prefix.
func mergeArgRule(base *gish.ArgRule, r policies.ArgRules) *gish.ArgRule {
	var out gish.ArgRule
	if base != nil {
		out = *base
		out.Deny = append([]string(nil), base.Deny...)
		out.DenyPrefix = append([]string(nil), base.DenyPrefix...)
		out.DenyPatterns = append([]string(nil), base.DenyPatterns...)
		out.AllowOperands = append([]string(nil), base.AllowOperands...)
	}
	for _, o := range r.DenyOptions {
		if strings.HasPrefix(o, "+") {
			out.DenyPrefix = append(out.DenyPrefix, "+")
			continue
		}
		out.Deny = append(out.Deny, o)
	}
	if len(r.AllowOptions) > 0 {
		out.Allow = append([]string(nil), r.AllowOptions...)
	}
	for _, g := range r.DenyPatterns {
		out.DenyPatterns = append(out.DenyPatterns, globRegexp(g))
	}
	out.AllowOperands = append(out.AllowOperands, r.AllowPatterns...)
	return &out
}

// globRegexp turns a policy glob into an anchored regular expression.
func globRegexp(g string) string {
	q := regexp.QuoteMeta(g)
	q = strings.ReplaceAll(q, `\*`, `.*`)
	q = strings.ReplaceAll(q, `\?`, `.`)
	return "^" + q + "$"
}

// policyDir holds the per-session policy files GISH re-reads; readable by
// the dynamic accounts, writable by the agent only.
func (a *Agent) policyDir() string { return filepath.Join(a.cfg.DataDir, "policy") }

// writeSessionPolicy (re)writes the session's GISH policy from the set in
// force, atomically, and returns the policy and its path.
func (a *Agent) writeSessionPolicy(id, class, home string) (*gish.Policy, string, error) {
	c, ok := a.policy().Class(class)
	if !ok {
		return nil, "", fmt.Errorf("class %s is no longer in the policy set", class)
	}
	p := gishPolicy(c, a.executables(class), home)
	b, err := json.Marshal(p)
	if err != nil {
		return nil, "", err
	}
	if err := os.MkdirAll(a.policyDir(), 0o755); err != nil {
		return nil, "", err
	}
	// Dynamic accounts traverse DataDir to reach their policy; nothing in
	// it is listable by them, the host key stays 0600.
	if err := os.Chmod(a.cfg.DataDir, 0o711); err != nil {
		return nil, "", err
	}
	path := filepath.Join(a.policyDir(), id+".json")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return nil, "", err
	}
	return p, path, os.Rename(tmp, path)
}

// refreshSessionPolicies rewrites the policy file of every running
// session after a reload; each GISH picks it up at its next line.
func (a *Agent) refreshSessionPolicies() {
	for _, id := range a.sessionIDs() {
		s := a.getSession(id)
		if s == nil {
			continue
		}
		b := s.binding
		if _, _, err := a.writeSessionPolicy(id, b.Class, b.Home); err != nil {
			a.log.Error("session policy after reload", "session", id, "err", err)
		}
	}
}

func (a *Agent) removeSessionPolicy(id string) {
	os.Remove(filepath.Join(a.policyDir(), id+".json"))
}

// publishAudit puts one GISH decision on igrid.audit.<node> (the SSH
// server has already logged it).
func (a *Agent) publishAudit(e gish.Event) {
	nc := a.nc
	if nc == nil {
		return
	}
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	if err := nc.Publish(bus.AuditSubject(a.cfg.Name), b); err != nil {
		a.log.Warn("audit publish", "err", err)
	}
}
