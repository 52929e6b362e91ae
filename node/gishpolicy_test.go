package node

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/igrid/igrid/policies"
)

// TestGishPolicyFromExamples maps the shipped engineering class onto what
// GISH enforces.
func TestGishPolicyFromExamples(t *testing.T) {
	set, err := policies.LoadDir("../policies/examples")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := set.Class("engineering")
	exes, _ := set.Executables("engineering")
	home := "/home/igeng01"
	p := gishPolicy(c, exes, home)
	if !slices.Contains(p.DenyFiles, home+"/.ssh/**") || !slices.Contains(p.DenyFiles, "/etc/shadow") {
		t.Errorf("deny files %v lack base's ~/.ssh/** and /etc/shadow", p.DenyFiles)
	}
	if !slices.Contains(p.WriteAreas, home) || !slices.Contains(p.WriteAreas, "/tmp") {
		t.Errorf("write areas %v, want the home and /tmp", p.WriteAreas)
	}
	if !slices.Contains(p.Env, "EDITOR") || !slices.Contains(p.Env, "TZ") {
		t.Errorf("env allow-list %v lacks EDITOR (engineering) or TZ (base)", p.Env)
	}
	if _, ok := exes["vim"]; ok {
		r := p.Programs["vim"]
		if r == nil || !slices.Contains(r.DenyPrefix, "+") || !slices.Contains(r.Deny, "-c") {
			t.Errorf("vim rules %+v, want +cmd and -c refused", r)
		}
	}
	if p.Unsigned != "confine" {
		t.Errorf("unsigned = %q, want engineering's confine", p.Unsigned)
	}
	for _, a := range p.ReadAreas {
		if a == filepath.Clean("/usr/bin") {
			t.Errorf("read areas include /usr/bin: %v", p.ReadAreas)
		}
	}
}

// TestGishPolicyAllowPatterns: sysadmin-base's systemctl may only be given
// the listed operands; GISH refuses anything else with the rule.
func TestGishPolicyAllowPatterns(t *testing.T) {
	set, err := policies.LoadDir("../policies/examples")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := set.Class("sysadmin-base")
	exes := map[string]string{"systemctl": "/usr/bin/systemctl"}
	p := gishPolicy(c, exes, "/home/igsys01")
	r := p.Programs["systemctl"]
	if r == nil || len(r.AllowOperands) == 0 {
		t.Fatalf("systemctl rules %+v lack the allowed operands", r)
	}
	if err := p.CheckArgs("systemctl", []string{"status", "ssh.service"}, "/"); err != nil {
		t.Errorf("systemctl status ssh.service: %v", err)
	}
	if err := p.CheckArgs("systemctl", []string{"start", "ssh.service"}, "/"); err == nil {
		t.Error("systemctl start was allowed; only the listed operands may pass")
	}
}

// TestGishPolicySudoRules: a superuser class's sudo rules reach GISH; a
// normal class has none.
func TestGishPolicySudoRules(t *testing.T) {
	set, err := policies.LoadDir("../policies/examples")
	if err != nil {
		t.Fatal(err)
	}
	for class, want := range map[string][]string{
		"appgroup-a":  {"/usr/bin/systemctl restart appa.service", "/usr/bin/systemctl stop appa.service"},
		"engineering": nil,
	} {
		c, _ := set.Class(class)
		exes, _ := set.Executables(class)
		if got := gishPolicy(c, exes, "/home/x").Sudo; !slices.Equal(got, want) {
			t.Errorf("%s: sudo rules %v, want %v", class, got, want)
		}
	}
}
