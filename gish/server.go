package gish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// ServerConfig configures a node's SSH server.
type ServerConfig struct {
	Addr       string // "127.0.0.1:0" in tests
	HostKeyPEM []byte // OpenSSH/PEM private key; generated if nil
	Authorizer Authorizer
	// Exec is the argv prefix that re-execs the binary as GISH; default
	// {"/proc/self/exe", "gish"}.
	Exec   []string
	Logger *slog.Logger
	// Audit receives every access-control decision of every shell (the
	// node agent publishes them on igrid.audit.<node>); they are logged
	// either way. Called from one goroutine per shell.
	// OnShellStart, when set, runs for every GISH process after it started
	// and before it reads its config (e.g. to put it in the session's
	// cgroup); an error refuses the shell.
	OnShellStart func(sessionID string, pid int) error
	Audit        func(Event)
}

// Server is the SSH front door of one node: public-key logins of bound
// users only, each session a re-exec'd GISH running as the dynamic account.
// It offers no forwarding, no agent, no X11 and no subsystems.
type Server struct {
	cfg ServerConfig
	log *slog.Logger
	srv *ssh.Server
	ln  net.Listener

	mu    sync.Mutex
	live  map[string]map[*liveShell]struct{} // session id → its shells
	ended map[string]bool                    // sessions ended by EndSession
}

// NewServer checks the configuration and prepares the server.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Authorizer == nil {
		return nil, errors.New("gish: ServerConfig.Authorizer is required")
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if len(cfg.Exec) == 0 {
		cfg.Exec = []string{"/proc/self/exe", "gish"}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, log: cfg.Logger, live: map[string]map[*liveShell]struct{}{}, ended: map[string]bool{}}
	s.srv = &ssh.Server{
		Handler:          s.handle,
		PublicKeyHandler: s.checkKey,
		BannerHandler:    s.banner,
		Version:          "igrid",
		// Forwarding callbacks stay nil (denied); the one subsystem is
		// sftp, served by GISH as the dynamic account.
		SubsystemHandlers: map[string]ssh.SubsystemHandler{SubsystemSFTP: s.handle},
		RequestHandlers:   map[string]ssh.RequestHandler{},
		ChannelHandlers:   map[string]ssh.ChannelHandler{"session": ssh.DefaultSessionHandler},
	}
	if cfg.HostKeyPEM != nil {
		signer, err := gossh.ParsePrivateKey(cfg.HostKeyPEM)
		if err != nil {
			return nil, fmt.Errorf("gish: host key: %w", err)
		}
		s.srv.AddHostKey(signer)
	}
	return s, nil
}

// Start listens and serves in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("gish: listen %s: %w", s.cfg.Addr, err)
	}
	s.ln = ln
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, ssh.ErrServerClosed) {
			s.log.Error("ssh server stopped", "err", err)
		}
	}()
	return nil
}

// Addr is the listening address.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Shutdown kills every shell, closes every connection and stops listening.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	var all []*liveShell
	for _, m := range s.live {
		for l := range m {
			all = append(all, l)
		}
	}
	s.mu.Unlock()
	for _, l := range all {
		l.kill()
	}
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = s.srv.Close()
	}
	if errors.Is(err, ssh.ErrServerClosed) {
		return nil
	}
	return err
}
