package sac

import (
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

// StageFunc stages a user binary for session: it copies f (opened by the
// caller, as the caller) into a place the caller cannot write, verifies sig
// over exactly the copied bytes and returns the copy's path, or an error a
// person can read. name is the caller's name for the binary.
type StageFunc func(session, name string, f *os.File, sig []byte) (path string, err error)

// ServerConfig configures the Unix-socket server.
type ServerConfig struct {
	Path       string // socket path; its directory must exist
	Controller *Controller
	Sessions   Resolver
	// Stage, when set, answers "stage" requests (UbAM's staged copies).
	Stage StageFunc
	// Audit, when set, is called with every decision and the caller's uid.
	Audit  func(uid uint32, d Decision)
	Logger *slog.Logger
}

// Server answers SAC requests on a Unix socket: each JSON request line in
// gets one JSON Decision line out, many on one connection (a GISH keeps
// one for its session). The caller is identified by the kernel
// (SO_PEERCRED, taken once per connection), never by what it sends.
type Server struct {
	cfg   ServerConfig
	ln    *net.UnixListener
	wg    sync.WaitGroup
	done  chan struct{}
	mu    sync.Mutex
	conns map[*net.UnixConn]struct{}
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
	return &Server{cfg: cfg, done: make(chan struct{}), conns: map[*net.UnixConn]struct{}{}}, nil
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

// Shutdown stops accepting, closes the open connections (a request being
// answered still gets its reply written or fails) and waits for them.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.ln == nil {
		return nil
	}
	close(s.done)
	err := s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		_ = c.CloseRead()
	}
	s.mu.Unlock()
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

// track adds c to the open connections, false when shutting down.
func (s *Server) track(c *net.UnixConn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(s.conns, c)
		return true
	}
	select {
	case <-s.done:
		return false
	default:
	}
	s.conns[c] = struct{}{}
	return true
}

// handle answers the requests of one connection until the client closes
// it, a reply cannot be written or a line cannot be read.
func (s *Server) handle(c *net.UnixConn) {
	defer c.Close()
	if !s.track(c, true) {
		return
	}
	defer s.track(c, false)
	defer func() {
		if r := recover(); r != nil {
			s.cfg.Logger.Error("sac request panic", "panic", r)
		}
	}()
	uid, uerr := peerUID(c)
	lr := newLineReader(c)
	defer lr.close()
	for {
		line, fds, err := lr.next()
		if err != nil && len(line) == 0 && !errors.Is(err, ErrBadRequest) {
			return // closed or broken: no request to answer
		}
		var d Decision
		switch {
		case uerr != nil:
			closeFDs(fds)
			d = Decision{Reason: ReasonUnknownCaller, Message: "cannot identify the caller: " + uerr.Error()}
		case err != nil:
			d = Decision{Reason: ReasonBadRequest, Message: err.Error()}
		default:
			d = s.decide(uid, line, fds)
		}
		if s.cfg.Audit != nil {
			s.cfg.Audit(uid, d)
		}
		b, _ := json.Marshal(d)
		_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, werr := c.Write(append(b, '\n'))
		if werr != nil || err != nil || uerr != nil || d.Reason == ReasonBadRequest {
			return // after a bad line the stream cannot be trusted
		}
	}
}

// decide answers one request line; it owns fds.
func (s *Server) decide(uid uint32, line []byte, fds []int) Decision {
	req, err := parseRequest(line)
	if err != nil {
		closeFDs(fds)
		return Decision{Reason: ReasonBadRequest, Message: err.Error()}
	}
	sess, ok := s.cfg.Sessions.SessionForUID(uid)
	if !ok {
		closeFDs(fds)
		return Decision{Reason: ReasonUnknownCaller, App: AppName(req.App),
			Message: fmt.Sprintf("uid %d has no session on this node", uid)}
	}
	if req.Op == OpStage {
		return s.stage(sess, req, fds)
	}
	closeFDs(fds)
	return s.cfg.Controller.Decide(sess, req)
}

// stage answers a stage request: exactly one descriptor, a signature in
// base64, and a Stage function that makes the copy.
func (s *Server) stage(sess string, req Request, fds []int) Decision {
	d := Decision{Session: sess, App: req.App}
	if len(fds) != 1 {
		closeFDs(fds)
		d.Reason, d.Message = ReasonBadRequest, fmt.Sprintf("a stage request carries exactly one open file (SCM_RIGHTS), this one %d", len(fds))
		return d
	}
	f := os.NewFile(uintptr(fds[0]), req.App)
	defer f.Close()
	if s.cfg.Stage == nil {
		d.Reason, d.Message = ReasonNoStager, "this node does not stage user binaries"
		return d
	}
	path, err := s.cfg.Stage(sess, req.App, f, []byte(req.Sig))
	if err != nil {
		d.Reason, d.Message = ReasonStageRefused, err.Error()
		return d
	}
	d.Allow, d.Reason, d.Path = true, ReasonStaged, path
	d.Message = fmt.Sprintf("%s: staged as %s", req.App, path)
	return d
}

// parseRequest parses one request line.
func parseRequest(line []byte) (Request, error) {
	var req Request
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return Request{}, fmt.Errorf("%w: not a JSON request {\"app\":…,\"argv\":[…]}: %v", ErrBadRequest, err)
	}
	if req.App == "" {
		return Request{}, fmt.Errorf("%w: \"app\" is empty", ErrBadRequest)
	}
	if req.Op != "" && req.Op != OpAdmit && req.Op != OpStage {
		return Request{}, fmt.Errorf("%w: \"op\" %q is neither %q nor %q", ErrBadRequest, req.Op, OpAdmit, OpStage)
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
