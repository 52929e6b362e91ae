// Package gmma holds the grid monitoring and management agents: sensors feed
// a monitoring agent, aggregators consolidate by time, application and session
// up the hierarchy (node → cluster → grid), and enforcers act on SLA breaches.
package gmma
