package node

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/igrid/igrid/policies"
)

// Config configures a node agent.
type Config struct {
	Name, Cluster string
	NATSURL       string
	// SSHAddr is the listen address of the node's SSH server.
	SSHAddr string
	// SSHHost is the host advertised to users; default the host part of SSHAddr.
	SSHHost string
	// HomeRoot is where the dynamic accounts' homes live.
	HomeRoot string
	// DataDir holds the SSH host key and agent state.
	DataDir string
	// Policies is the class policy set; when nil it is loaded from PoliciesDir.
	Policies    *policies.Set
	PoliciesDir string
	// PoliciesFromDRM takes the policy sets the DRM publishes over NATS
	// instead of reading a directory (nodes without the DRM's filesystem).
	PoliciesFromDRM bool
	// AccountTag makes account names unique per node on one machine (dev).
	AccountTag string
	// Heartbeat is the heartbeat period; default 2s.
	Heartbeat time.Duration
	// GishExec is the argv prefix that re-execs the igrid binary as GISH.
	GishExec []string
	// RemoveAccounts makes Shutdown delete the pool accounts it created.
	RemoveAccounts bool
	// SampleInterval is the GMMA monitoring period; default 1s.
	SampleInterval time.Duration
	// MetricsAddr, when set, serves Prometheus /metrics there ("127.0.0.1:0" works).
	MetricsAddr string
	Logger      *slog.Logger
}

// Defaults filled in by New.
const (
	DefaultHeartbeat = 2 * time.Second
	DefaultPoolSize  = 4
	// WarnBefore is how long before a session's end its terminals are warned.
	WarnBefore = time.Minute
	// MinWarnWindow is the shortest window that gets an end warning.
	MinWarnWindow = 5 * time.Minute
	// TrustLevel is the trust level every node reports in this cut.
	TrustLevel = "standard"
)

func (c *Config) setDefaults() error {
	if c.Name == "" {
		return fmt.Errorf("node: Config.Name is required")
	}
	if c.NATSURL == "" || c.HomeRoot == "" || c.DataDir == "" {
		return fmt.Errorf("node %s: NATSURL, HomeRoot and DataDir are required", c.Name)
	}
	if c.Policies == nil && c.PoliciesDir == "" && !c.PoliciesFromDRM {
		return fmt.Errorf("node %s: Policies or PoliciesDir is required", c.Name)
	}
	if c.SSHAddr == "" {
		c.SSHAddr = "127.0.0.1:0"
	}
	if c.SSHHost == "" {
		host, _, err := net.SplitHostPort(c.SSHAddr)
		if err != nil {
			return fmt.Errorf("node %s: SSHAddr %q: %w", c.Name, c.SSHAddr, err)
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
			if h, err := os.Hostname(); err == nil {
				host = h
			}
		}
		c.SSHHost = host
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.SampleInterval <= 0 {
		c.SampleInterval = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}
