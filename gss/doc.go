// Package gss is the Grid Storage Service: a content-addressed store of
// each user's files (chunks named by SHA-256, per-user manifests with
// versions) behind the Store interface, with a local-directory backend
// (igrid dev) and an S3-compatible one (production). The node agent saves a
// user's home and environment at session end (only new chunks travel) and
// restores it at the next start, owned by the bound dynamic account, through
// a node-local Cache that keeps the last tree per user and refreshes stale
// files in the background. The DRM API uses PutFile/GetFile for the
// portal's file transfer.
package gss
