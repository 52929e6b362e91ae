package gish

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// RuleSudo: a sudo command that is not one of the class's sudo rules.
const RuleSudo = "sudo-rules"

// sudoPath is the sudo GISH runs for a superuser class.
var sudoPath = "/usr/bin/sudo"

// A superuser class (Policy.Sudo non-empty) runs its sudo rules so:
// the node writes them into /etc/sudoers.d/igrid-<class> (NOPASSWD for
// exactly those commands, checked by visudo), and GISH, which the kernel
// would otherwise keep from gaining privileges (no_new_privs defeats the
// setuid bit of sudo), sets no_new_privs on every program's thread but not
// on itself, checks a `sudo …` line against the same rules (EAM, with its
// reason) and runs exactly `sudo -n -- <rule>` outside Landlock. Anything
// else the user runs keeps no_new_privs and Landlock.

// checkSudo decides the arguments of a `sudo [-n] [--] CMD ARGS…` line:
// allowed only when CMD ARGS is one of the rules (CMD as the rule's
// absolute path or its base name); it returns the argv to run.
func (p *Policy) checkSudo(args []string) ([]string, error) {
	rest := args
	for len(rest) > 0 && (rest[0] == "-n" || rest[0] == "--non-interactive") {
		rest = rest[1:]
	}
	if len(rest) > 0 && rest[0] == "--" {
		rest = rest[1:]
	}
	subject := strings.Join(append([]string{"sudo"}, args...), " ")
	if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
		return nil, &Denial{Subject: subject, Rule: RuleSudo,
			Reason: fmt.Sprintf("takes only `sudo [-n] COMMAND`; class %s's sudo rules are: %s", p.Class, strings.Join(p.Sudo, "; "))}
	}
	for _, rule := range p.Sudo {
		f := strings.Fields(rule)
		if len(f) == 0 || (rest[0] != f[0] && rest[0] != filepath.Base(f[0])) || !slices.Equal(rest[1:], f[1:]) {
			continue
		}
		return append([]string{"sudo", "-n", "--", f[0]}, f[1:]...), nil
	}
	return nil, &Denial{Subject: subject, Rule: RuleSudo,
		Reason: fmt.Sprintf("is not one of class %s's sudo rules (%s)", p.Class, strings.Join(p.Sudo, "; "))}
}
