package bus

import "strings"

// Subject wildcards for subscribers.
const (
	HeartbeatWildcard = "igrid.node.*.hb"
	AuditWildcard     = "igrid.audit.>"
	NotifyWildcard    = "igrid.notify.>"
)

// HeartbeatSubject is where node publishes its presence and load.
func HeartbeatSubject(node string) string { return "igrid.node." + token(node) + ".hb" }

// CommandSubject is where the DRM sends request/reply commands to node.
func CommandSubject(node string) string { return "igrid.node." + token(node) + ".cmd" }

// AuditSubject carries node's audit events (GISH decisions, enforcement).
func AuditSubject(node string) string { return "igrid.audit." + token(node) }

// NotifySubject carries one notification event for user's session.
func NotifySubject(user, session, event string) string {
	return "igrid.notify." + token(user) + "." + token(session) + "." + token(event)
}

// AggSubject carries a node's aggregated monitoring data; node "" names the
// cluster-level subject.
func AggSubject(cluster, node string) string {
	if node == "" {
		return "igrid.gmma.agg." + token(cluster)
	}
	return "igrid.gmma.agg." + token(cluster) + "." + token(node)
}

// token makes s safe as one subject token: NATS separators and wildcards
// become '_'. Names are validated upstream; this is a last line of defence.
func token(s string) string {
	if s == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', '*', '>', ' ', '\t', '\r', '\n':
			return '_'
		}
		return r
	}, s)
}

// ProfileSubject carries the application profiles node predictors learn
// (sac.Profile as JSON); the DRM folds them into its profile store.
const ProfileSubject = "igrid.gmma.profile"
