package sac

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// ReasonBadRequest answers a request line SAC cannot read.
const ReasonBadRequest = "bad_request"

// maxLine bounds one request line.
const maxLine = 64 << 10

// Resolver maps the connecting process's uid (SO_PEERCRED) to its session.
type Resolver interface {
	// SessionForUID returns the session bound to uid, if any.
	SessionForUID(uid uint32) (session string, ok bool)
}

// ResolverFunc adapts a function to Resolver.
type ResolverFunc func(uid uint32) (string, bool)

// SessionForUID implements Resolver.
func (f ResolverFunc) SessionForUID(uid uint32) (string, bool) { return f(uid) }

// ServerConfig configures the Unix-socket server.
type ServerConfig struct {
	Path       string // socket path; its directory must exist
	Controller *Controller
	Sessions   Resolver
	// Audit, when set, is called with every decision and the caller's uid.
	Audit  func(uid uint32, d Decision)
	Logger *slog.Logger
}

// Server answers SAC requests on a Unix socket: one JSON request line in,
// one JSON Decision line out, then the server closes the connection. The
// caller is identified by the kernel (SO_PEERCRED), never by what it sends.
type Server struct {
	cfg  ServerConfig
	ln   *net.UnixListener
	wg   sync.WaitGroup
	done chan struct{}
}

// NewServer checks cfg.
func NewServer(cfg ServerConfig) (*Server, error) {
	switch {
	case cfg.Path == "":
		return nil, fmt.Errorf("%w: socket Path", ErrNoConfig)
	case cfg.Controller == nil:
		return nil, fmt.Errorf("%w: Controller", ErrNoConfig)
	case cfg.Sessions == nil:
		return nil, fmt.Errorf("%w: Sessions", ErrNoConfig)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Server{cfg: cfg, done: make(chan struct{})}, nil
}

// Start listens (replacing a stale socket file) and serves in the background.
func (s *Server) Start() error {
	if fi, err := os.Lstat(s.cfg.Path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		_ = os.Remove(s.cfg.Path)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: s.cfg.Path, Net: "unix"})
	if err != nil {
		return fmt.Errorf("sac listen %s: %w", s.cfg.Path, err)
	}
	// Every session's account may connect; the kernel tells us who it is.
	if err := os.Chmod(s.cfg.Path, 0o666); err != nil {
		ln.Close()
		return fmt.Errorf("sac chmod %s: %w", s.cfg.Path, err)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.serve()
	return nil
}

// Ready returns nil once the socket is listening.
func (s *Server) Ready(ctx context.Context) error {
	if s.ln == nil {
		return errors.New("sac: not started")
	}
	return ctx.Err()
}

// Addr is the socket path.
func (s *Server) Addr() string { return s.cfg.Path }

// Shutdown stops accepting, waits for open requests and removes the socket.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.ln == nil {
		return nil
	}
	close(s.done)
	err := s.ln.Close()
	ch := make(chan struct{})
	go func() { s.wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-ctx.Done():
		return ctx.Err()
	}
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			s.cfg.Logger.Warn("sac accept", "err", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(c)
		}()
	}
}

func (s *Server) handle(c *net.UnixConn) {
	defer c.Close()
	defer func() {
		if r := recover(); r != nil {
			s.cfg.Logger.Error("sac request panic", "panic", r)
		}
	}()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	uid, err := peerUID(c)
	var d Decision
	if err != nil {
		d = Decision{Reason: ReasonUnknownCaller, Message: "cannot identify the caller: " + err.Error()}
	} else {
		d = s.decide(uid, c)
	}
	if s.cfg.Audit != nil {
		s.cfg.Audit(uid, d)
	}
	b, _ := json.Marshal(d)
	_, _ = c.Write(append(b, '\n'))
}

func (s *Server) decide(uid uint32, c *net.UnixConn) Decision {
	req, err := readRequest(c)
	if err != nil {
		return Decision{Reason: ReasonBadRequest, Message: err.Error()}
	}
	sess, ok := s.cfg.Sessions.SessionForUID(uid)
	if !ok {
		return Decision{Reason: ReasonUnknownCaller, App: AppName(req.App),
			Message: fmt.Sprintf("uid %d has no session on this node", uid)}
	}
	return s.cfg.Controller.Decide(sess, req)
}

func readRequest(c net.Conn) (Request, error) {
	r := bufio.NewReaderSize(c, 4096)
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxLine {
			return Request{}, fmt.Errorf("%w: request line longer than %d bytes", ErrBadRequest, maxLine)
		}
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return Request{}, fmt.Errorf("%w: no request line: %v", ErrBadRequest, err)
		}
	}
	var req Request
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return Request{}, fmt.Errorf("%w: not a JSON request {\"app\":…,\"argv\":[…]}: %v", ErrBadRequest, err)
	}
	if req.App == "" {
		return Request{}, fmt.Errorf("%w: \"app\" is empty", ErrBadRequest)
	}
	return req, nil
}

// peerUID asks the kernel who is on the other end.
func peerUID(c *net.UnixConn) (uint32, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if cerr != nil {
		return 0, cerr
	}
	return cred.Uid, nil
}
