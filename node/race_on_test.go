//go:build race

package node

// raceEnabled: the race detector makes every re-exec of GISH slow, so the
// long agent-level loops run fewer rounds under it.
const raceEnabled = true
