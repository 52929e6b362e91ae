package bus

import (
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// EmbeddedConfig configures the in-process NATS server.
type EmbeddedConfig struct {
	// Host and Port to listen on; Port -1 picks a free port (the default when 0).
	Host string
	Port int
	// StoreDir enables JetStream with file storage there; empty disables it.
	StoreDir string
}

// Embedded is a NATS server running inside this process.
type Embedded struct {
	srv *server.Server
}

// StartEmbedded starts a NATS server and waits until it accepts clients.
func StartEmbedded(cfg EmbeddedConfig) (*Embedded, error) {
	opts := &server.Options{
		Host:                  cfg.Host,
		Port:                  cfg.Port,
		NoLog:                 true,
		NoSigs:                true,
		MaxPayload:            8 << 20,
		ServerName:            "igrid",
		JetStream:             cfg.StoreDir != "",
		StoreDir:              cfg.StoreDir,
		DisableShortFirstPing: true,
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if opts.Port == 0 {
		opts.Port = -1
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("nats: server not ready after 10s")
	}
	return &Embedded{srv: srv}, nil
}

// URL is the client URL of the server.
func (e *Embedded) URL() string { return e.srv.ClientURL() }

// Shutdown stops the server and waits for it.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

// Connect dials url with igrid's defaults: a client name, endless reconnects
// (a node must survive a DRM restart), and a short reconnect wait.
func Connect(url, name string) (*nats.Conn, error) {
	nc, err := nats.Connect(url,
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.Timeout(5*time.Second),
	)
	if err != nil {
		return nil, fmt.Errorf("nats connect %s: %w", url, err)
	}
	return nc, nil
}
