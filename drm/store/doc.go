// Package store is the DRM's state behind one Store interface: users, tokens,
// nodes and sessions with their reservations. The SQLite backend (pure Go,
// embedded default) serialises writers so that admission and reservation are
// one transaction and a node's capacity can never be promised twice.
package store
