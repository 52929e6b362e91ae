package gish

// denyingBuiltins are builtins that would run code the checks cannot see
// (eval, source, trap), replace or bypass command lookup (exec, command,
// builtin), or change how the shell itself behaves (set, enable, alias).
// gish/README.md audits every builtin.
var denyingBuiltins = map[string]string{
	"eval": "runs a string as code", "exec": "replaces the shell", "source": "runs a file as code",
	".": "runs a file as code", "command": "bypasses command lookup", "builtin": "bypasses command lookup",
	"trap": "runs code on signals", "set": "changes shell options", "enable": "changes builtins",
	"alias": "renames commands", "unalias": "renames commands", "hash": "changes command lookup",
	"fc": "re-runs history", "coproc": "starts a coprocess", "mapfile": "", "readarray": "",
	"ulimit": "changes resource limits", "umask": "changes file modes", "kill": "signals processes",
	"wait": "", "disown": "", "suspend": "", "times": "", "caller": "", "getopts": "",
	"dirs": "", "pushd": "", "popd": "", "shopt": "changes shell options",
}

// safeBuiltins run inside GISH and can neither start programs nor open
// files behind the checks (redirections go through the open handler).
var safeBuiltins = map[string]bool{
	"echo": true, "printf": true, "cd": true, "pwd": true, "exit": true, "true": true,
	"false": true, "test": true, "[": true, ":": true, "read": true, "shift": true,
	"unset": true, "export": true, "local": true, "declare": true, "typeset": true,
	"readonly": true, "let": true, "type": true, "return": true, "break": true,
	"continue": true, "help": true, "status": true, "check": true, "jobs": true, "fg": true, "bg": true,
}

func isSafeBuiltin(name string) bool { return safeBuiltins[name] }
