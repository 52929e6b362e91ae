// Package testutil holds the few helpers every package's tests share:
// polling for a condition instead of sleeping, and a goroutine-safe buffer
// for the output of SSH sessions and terminals.
package testutil
