// Package gmma holds the grid monitoring and management agents: sensors
// (gmma/sensor) feed a monitoring agent (Monitor) that turns counters into
// per-session and per-application usage every interval; a node aggregator
// (NodeAggregator) keeps time, application and session aggregates (average,
// minimum, peak, totals), archives them in SQLite and publishes them on
// igrid.gmma.agg.<cluster>.<node>; cluster and grid aggregators
// (ClusterAggregator, GridAggregator) consolidate up the hierarchy with their
// own aggregation functions; the Enforcer compares usage with the SLA and
// acts (warn, renice, kill, end) with an audit event per action; the
// Predictor turns per-application history into profiles for the DRM and SAC.
// The node agent wires them per session (see gmma/README.md).
package gmma
