package gish

import (
	"errors"
	"fmt"
)

// Rules a denial names. They are what a user reads after "rule:".
const (
	RuleExecutables = "executables"   // the command is not on the class's allow-list
	RuleBuiltins    = "builtins"      // a shell builtin that could bypass the checks
	RuleLiteral     = "literal-names" // a command name that is not a plain word
	RulePath        = "paths"         // a command named by a path outside the allow-list
	RuleWrite       = "write-areas"   // a write outside the write areas
	RuleDenyFiles   = "deny-files"    // a file the policy denies, even inside an area
	RuleRead        = "read-areas"    // a read outside the read areas
	RuleArguments   = "arguments"     // an option or argument the program's rules refuse
	RuleSignature   = "signature"     // a user binary without a valid trusted signature
	RuleAdmission   = "admission"     // the SAC refused to start the application
	RuleLandlock    = "landlock"      // the kernel cannot confine as the policy requires
	RuleSyntax      = "syntax"        // the line does not parse
	RuleLanguage    = "language"      // a shell construct this class may not use
)

var (
	// ErrNoBinding means a login reached the shell without a session binding.
	ErrNoBinding = errors.New("no session binding")
	// ErrBadChildConfig means `igrid gish` was started without a valid
	// configuration on fd 3 (it is not meant to be run by hand).
	ErrBadChildConfig = errors.New("gish: no valid session configuration on fd 3 (started by the node agent only)")
)

// Denial is a "no" from GISH's access control: what was refused, by which
// rule, and why in words.
type Denial struct {
	Subject string // the command or file refused
	Rule    string // one of the Rule constants
	Reason  string // human reason, e.g. `is not allowed for class engineering`
}

func (d *Denial) Error() string {
	return fmt.Sprintf("denied: %q %s (rule: %s)", d.Subject, d.Reason, d.Rule)
}

// IsDenial reports whether err is (or wraps) a Denial.
func IsDenial(err error) bool {
	var d *Denial
	return errors.As(err, &d)
}

// ErrBadEnvFile: the home's settings file (EnvFile) is not a small regular
// JSON file of name → value.
var ErrBadEnvFile = errors.New("bad settings file")
