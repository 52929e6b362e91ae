package devgrid

import (
	"fmt"
	"log/slog"
	"time"
)

// Config configures a dev grid. The zero value plus DataDir is usable.
type Config struct {
	// DataDir holds the database, NATS store, policies, homes, keys and dev.json.
	DataDir string
	// Listen is the address of the portal and the API ("127.0.0.1:8080").
	Listen string
	// Nodes is the number of node agents (node-a, node-b, …).
	Nodes int
	// SSHBasePort is node-a's SSH port; node-b gets the next one. 0 picks
	// free ports.
	SSHBasePort int
	// DemoSession books a session for the demo user at start so that the
	// printed ssh command works at once.
	DemoSession bool
	// DemoUsage is the demo session's usage time.
	DemoUsage time.Duration
	// Heartbeat and Tick tune the node heartbeat and the dispatcher period.
	Heartbeat time.Duration
	Tick      time.Duration
	// AccountTag goes before each node's letter in its account names
	// (igeng<tag>a01): tests set a random one so that grids on one machine
	// never share an account.
	AccountTag string
	// GishExec is the re-exec argv prefix of the node SSH servers (tests).
	GishExec []string
	Logger   *slog.Logger
}

// Default is the configuration of a plain `igrid dev`.
func Default() Config {
	return Config{
		DataDir:     ".igrid-dev",
		Listen:      "127.0.0.1:8080",
		Nodes:       2,
		SSHBasePort: 2201,
		DemoSession: true,
		DemoUsage:   30 * time.Minute,
		Heartbeat:   2 * time.Second,
		Tick:        250 * time.Millisecond,
	}
}

func (c *Config) check() error {
	d := Default()
	if c.DataDir == "" {
		return fmt.Errorf("devgrid: DataDir is required")
	}
	if c.Nodes < 1 || c.Nodes > 26 {
		return fmt.Errorf("devgrid: --nodes %d is out of range [1, 26]", c.Nodes)
	}
	if c.Listen == "" {
		c.Listen = d.Listen
	}
	if c.DemoUsage == 0 {
		c.DemoUsage = d.DemoUsage
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = d.Heartbeat
	}
	if c.Tick == 0 {
		c.Tick = d.Tick
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// NodeName is the name of the i-th dev node: node-a, node-b, …
func NodeName(i int) string { return fmt.Sprintf("node-%c", 'a'+i) }
