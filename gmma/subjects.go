package gmma

import (
	"strings"

	"github.com/igrid/igrid/internal/bus"
)

// Subjects of the GMMA hierarchy. The node and cluster levels use the
// subjects internal/bus names; the grid level and the raw samples are ours.
const (
	// GridSubject carries the grid aggregator's consolidated view (read by the DRM).
	GridSubject = "igrid.gmma.grid"
	// ClusterWildcard matches every cluster-level aggregate.
	ClusterWildcard = "igrid.gmma.agg.*"
)

// NodeAggSubject is where a node aggregator publishes.
func NodeAggSubject(cluster, node string) string { return bus.AggSubject(cluster, node) }

// ClusterAggSubject is where a cluster aggregator publishes.
func ClusterAggSubject(cluster string) string { return bus.AggSubject(cluster, "") }

// NodeAggWildcard matches every node aggregate of one cluster.
func NodeAggWildcard(cluster string) string {
	return strings.TrimSuffix(bus.AggSubject(cluster, "x"), ".x") + ".*"
}

// SampleSubject carries a monitoring agent's raw samples (one per interval).
func SampleSubject(cluster, node string) string {
	return "igrid.gmma.sample" + strings.TrimPrefix(bus.AggSubject(cluster, node), "igrid.gmma.agg")
}
