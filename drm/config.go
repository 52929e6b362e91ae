package drm

import (
	"log/slog"
	"time"

	"github.com/igrid/igrid/policies"
)

// Config configures a DRM server. Zero values take the defaults below.
type Config struct {
	Listen       string // HTTP listen address, "127.0.0.1:0" picks a port
	DBPath       string // SQLite file; created and migrated when missing
	NATSURL      string // NATS server the node agents use
	Policies     *policies.Set
	PoliciesDir  string // read with policies.LoadDir when Policies is nil
	DefaultClass string // class of self-registered users
	// Heartbeat is the expected node heartbeat interval when a heartbeat
	// does not carry its own; a node is offline after 3 missed beats.
	Heartbeat time.Duration
	Tick      time.Duration // dispatcher period
	Logger    *slog.Logger
}

// Defaults.
const (
	DefaultListen    = "127.0.0.1:8080"
	DefaultHeartbeat = 2 * time.Second
	DefaultTick      = 250 * time.Millisecond
	// MissedBeats is how many heartbeat intervals may pass before a node
	// counts as offline.
	MissedBeats = 3
	// CommandTimeout bounds one start or end round trip to a node.
	CommandTimeout = 15 * time.Second
	// TokenTTL is how long an API token lives.
	TokenTTL = 30 * 24 * time.Hour
	// MinPasswordLen is the shortest password registration accepts.
	MinPasswordLen = 8
)

func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.Tick <= 0 {
		c.Tick = DefaultTick
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
