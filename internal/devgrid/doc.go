// Package devgrid runs a whole igrid grid in one process: embedded NATS with
// JetStream, the DRM on SQLite, the portal, and N node agents with their SSH
// servers. `igrid dev` is a thin wrapper around it, and the end-to-end tests
// start it on 127.0.0.1:0 ports and drive it through dev.json and the API.
package devgrid
