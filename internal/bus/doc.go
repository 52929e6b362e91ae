// Package bus is igrid's messaging plumbing over NATS: it runs the embedded
// NATS server (with JetStream on local disk) that `igrid drm` and `igrid dev`
// start by default, connects clients, and names the subjects of DESIGN.md so
// that no component spells a subject by hand.
package bus
