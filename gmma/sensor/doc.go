// Package sensor holds the GMMA sensor agents: small collectors, one per
// file, that read the kernel's counters for one session (per-process CPU,
// memory, threads, I/O and sockets from /proc; the session cgroup's totals;
// the disk usage of the session's areas; its TCP bytes) and for the node as a
// whole. A Registry runs them; every reader takes a procfs root so tests run
// on the fixture /proc tree under testdata/. The monitoring agent (package
// gmma) turns the counters into rates and publishes them.
package sensor
