// Package drm is the Grid Distributed Resource Manager: the HTTP API under
// /api/v1, users and tokens, the node registry fed by heartbeats, the
// scheduler (match → admit → rank → reserve) and the dispatcher that starts
// and ends sessions on node agents over NATS. cmd/igrid wires it for
// `igrid drm` and `igrid dev`; the portal and the CLI talk to it over HTTP.
package drm
