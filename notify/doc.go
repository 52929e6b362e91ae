// Package notify is the notification service: hierarchical topics over NATS
// (igrid.notify.<user>.<session>.<event>), pushed to the portal, GISH and the
// CLI, and kept for users who pull them later.
package notify
