// Package confine is GISH's kernel confinement: a tiny re-exec helper that
// every program GISH starts passes through. The helper sets no_new_privs,
// applies a Landlock domain (read areas read-only, write areas read-write,
// execute only the allow-listed programs and their loader), RLIMIT_NPROC,
// and then execve's the target, so an allowed program cannot exec a
// forbidden one or write outside the write areas. GISH (package gish) builds
// the Spec from the session policy; MaybeReexec dispatches the helper.
package confine
