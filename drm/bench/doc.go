// Package bench holds the DRM's whole-scheduler scenarios: a store seeded
// with active reservations, thousands of simulated nodes, and a stream of
// placements through the real scheduler (match → admit → rank → one
// booking transaction). `go test -bench` in this package and
// `igrid bench sched` both run it.
package bench
