// Package internal groups igrid's plumbing packages: bus (NATS), proto (wire
// types), devgrid (the one-machine grid of `igrid dev`) and test helpers.
package internal
