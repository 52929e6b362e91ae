package drm

import (
	"log/slog"
	"time"

	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/policies"
)

// Config configures a DRM server. Zero values take the defaults below.
type Config struct {
	Listen       string // HTTP listen address, "127.0.0.1:0" picks a port
	DBPath       string // SQLite file (created and migrated when missing) or a postgres:// URL
	NATSURL      string // NATS server the node agents use
	Policies     *policies.Set
	PoliciesDir  string // read with policies.LoadDir when Policies is nil
	DefaultClass string // class of self-registered users
	// Heartbeat is the expected node heartbeat interval when a heartbeat
	// does not carry its own; a node is offline after 3 missed beats.
	Heartbeat time.Duration
	Tick      time.Duration // dispatcher period
	Logger    *slog.Logger

	// Policy is the assignment policy: least-loaded (default), best-fit
	// or spread. Weights weigh it against the affinity components; the
	// zero value takes DefaultWeights.
	Policy  string
	Weights *Weights
	// GridLoadMaxAge is how old the last GMMA grid aggregate may be for its
	// node loads to be used instead of the heartbeats' (default 30 s).
	GridLoadMaxAge time.Duration
	// Quotas are the admission quotas per class; QuotaFor, when set,
	// overrides them (the policy engine's hook). A class's
	// session.max_usage_time from the policies is added when the quota
	// sets none.
	Quotas   map[string]store.Quota
	QuotaFor func(class string) store.Quota
	// Profiles seed the application profiles table; stored profiles keep
	// their measured values. Nil seeds DefaultProfiles.
	Profiles []store.Profile
	// ReplaceLost says whether a class's session lost with its node gets
	// a replacement booked on another node; nil uses ReplaceLostClasses.
	ReplaceLost        func(class string) bool
	ReplaceLostClasses []string
	// LeaderPoll is how often a DRM that does not hold the dispatcher
	// lease (PostgreSQL) tries to take it.
	LeaderPoll time.Duration
}

// DefaultProfiles are the estimates the profiles table starts from, per
// application: CPU % of one core and bandwidth, for an interactive user.
func DefaultProfiles() []store.Profile {
	return []store.Profile{
		{App: "vim", CPUPercent: 5, BandwidthKbps: 20},
		{App: "python3", CPUPercent: 50, BandwidthKbps: 50},
		{App: "gcc", CPUPercent: 90, BandwidthKbps: 10},
		{App: "make", CPUPercent: 90, BandwidthKbps: 10},
		{App: "matlab", CPUPercent: 150, BandwidthKbps: 200},
		{App: "firefox", CPUPercent: 40, BandwidthKbps: 2000},
	}
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
	if c.Weights == nil {
		w := DefaultWeights()
		c.Weights = &w
	}
	if c.Profiles == nil {
		c.Profiles = DefaultProfiles()
	}
	if c.LeaderPoll <= 0 {
		c.LeaderPoll = time.Second
	}
	return c
}
