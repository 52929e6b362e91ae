// Package node is the node agent that runs on every execution node: it reads
// the node's capacity, heartbeats over NATS, answers the DRM's StartSession and
// EndSession commands, binds dynamic accounts, runs the node's SSH server and
// drives each session's lifecycle from binding to teardown.
package node
