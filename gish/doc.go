// Package gish is the Grid Interactive Shell and its SSH front door. The SSH
// server (gliderlabs/ssh) runs in the root node agent and admits only the grid
// user bound to a session, inside its window; it re-execs the igrid binary as
// the dynamic account (`igrid gish`), which parses every line with mvdan/sh
// and runs only what the class's policy allows. User input never runs as root.
package gish
