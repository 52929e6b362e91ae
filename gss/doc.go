// Package gss is the Grid Storage Service client: it saves a user's files and
// environment at session end and restores them, owned by the bound dynamic
// account, at the next session start.
package gss
