// Package proto holds the wire types shared by every igrid component: the job
// template and session objects of the HTTP API (DESIGN.md "Public interfaces"),
// node descriptions and heartbeats published on igrid.node.<node>.hb, and the
// request/reply commands the DRM sends to node agents on igrid.node.<node>.cmd.
// It has no dependencies beyond the standard library so that the DRM, the node
// agent, GISH, the portal and the CLI can all import it.
package proto
