// Package drm is the Grid Distributed Resource Manager: the HTTP API under
// /api/v1 (users, tokens, sessions, nodes), the node registry fed by
// heartbeats over NATS, the scheduler (match → admit → rank → reserve, each
// stage a small type in its own file working on a snapshot) and the
// dispatcher that starts and ends sessions on node agents over NATS
// request/reply. State lives behind drm/store. cmd/igrid wires it for
// `igrid drm` and `igrid dev`; the portal mounts Handler() and the CLI talks
// to it through drm/client. See README.md for the pipeline.
package drm
