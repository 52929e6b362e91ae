package gish

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"github.com/gliderlabs/ssh"
)

// handle runs one SSH session channel: a GISH prompt or `ssh host cmd`,
// re-exec'd as the dynamic account. The agent never interprets the input.
func (s *Server) handle(sess ssh.Session) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("ssh session panic", "panic", r, "stack", string(debug.Stack()))
			sess.Exit(255)
		}
	}()
	b := bindingOf(sess.Context())
	switch {
	case b == nil:
		fmt.Fprintln(sess.Stderr(), "igrid: no session binding")
		sess.Exit(1)
		return
	case !time.Now().Before(b.End) || s.isEnded(b.SessionID):
		fmt.Fprintf(sess.Stderr(), "igrid: session %s has ended\n", b.SessionID)
		sess.Exit(1)
		return
	}
	if sess.Subsystem() != "" && sess.Subsystem() != SubsystemSFTP {
		fmt.Fprintf(sess.Stderr(), "igrid: subsystem %q is not offered\n", sess.Subsystem())
		sess.Exit(1)
		return
	}
	code, err := s.runShell(sess, b)
	if err != nil {
		s.log.Error("gish start", "session", b.SessionID, "err", err)
		fmt.Fprintf(sess.Stderr(), "igrid: cannot start the shell: %v\n", err)
	}
	sess.Exit(code)
}

// runShell starts GISH for the session and waits for it.
func (s *Server) runShell(sess ssh.Session, b *Binding) (int, error) {
	ptyReq, winCh, isPty := sess.Pty()
	cfg := ChildConfig{
		SessionID: b.SessionID, User: b.User, Account: b.Account, Class: b.Class, Node: b.Node,
		Home: b.Home, Start: b.Start, End: b.End, Executables: b.Executables,
		MaxProcesses: b.MaxProcesses, LimitProcesses: s.switchesUser(b),
		Command: sess.RawCommand(), TTY: isPty, Term: ptyReq.Term,
		Policy: b.Policy, SACSocket: b.SACSocket, PolicyFile: b.PolicyFile, Audit: true, Subsystem: sess.Subsystem(),
		Vars: b.Vars,
	}
	cmd, cfgW, err := s.command(b, cfg)
	if err != nil {
		return 1, err
	}
	auditR, auditW, err := os.Pipe()
	if err != nil {
		cfgW.Close()
		return 1, err
	}
	cmd.ExtraFiles = append(cmd.ExtraFiles, auditW)
	audited := make(chan struct{})
	go func() {
		defer close(audited)
		readAudit(auditR, b, s.log, s.cfg.Audit)
		auditR.Close()
	}()
	defer func() {
		// The shell has exited: its events are in the pipe. Wait a little
		// for them, never for a process that kept the pipe open.
		select {
		case <-audited:
		case <-time.After(2 * time.Second):
			auditR.Close()
		}
	}()
	l := &liveShell{sess: sess}
	if isPty {
		err = l.startPty(cmd, ptyReq, winCh)
	} else {
		err = l.startPipes(cmd)
	}
	cmd.ExtraFiles[0].Close()
	auditW.Close()
	if err != nil {
		cfgW.Close()
		return 1, err
	}
	l.pid = cmd.Process.Pid
	// GISH waits for its config before it runs anything, so a process
	// placed here has every descendant in the same place (the session
	// cgroup): no window in which a fork escapes it.
	if s.cfg.OnShellStart != nil {
		if err := s.cfg.OnShellStart(b.SessionID, l.pid); err != nil {
			cfgW.Close()
			killSession(l.pid)
			cmd.Wait()
			return 1, err
		}
	}
	json.NewEncoder(cfgW).Encode(cfg)
	cfgW.Close()
	s.add(b.SessionID, l)
	defer s.remove(b.SessionID, l)
	go func() {
		<-sess.Context().Done()
		l.hangup()
	}()
	s.log.Info("gish started", "session", b.SessionID, "user", b.User, "account", b.Account,
		"pid", l.pid, "tty", isPty, "command", cfg.Command != "")
	return l.wait(cmd), nil
}

// command prepares the re-exec of GISH: the dynamic account's credentials,
// a new session, a fresh environment, the config pipe on fd 3.
func (s *Server) command(b *Binding, cfg ChildConfig) (*exec.Cmd, *os.File, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(s.cfg.Exec[0], s.cfg.Exec[1:]...)
	cmd.Dir = b.Home
	cmd.Env = []string{"HOME=" + b.Home, "USER=" + b.Account, "LOGNAME=" + b.Account,
		"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "TERM=" + cfg.Term}
	cmd.ExtraFiles = []*os.File{r}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	if s.switchesUser(b) {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: b.UID, Gid: b.GID, Groups: []uint32{}}
		// A dynamic account's shell outlives a crash of the agent, with
		// the programs it runs, in the session cgroup: the restarted agent
		// re-adopts the session and its end kills them (cgroup, then uid).
		// In unprivileged mode nothing would, so the shell dies with it.
		cmd.SysProcAttr.Pdeathsig = 0
	}
	return cmd, w, nil
}

// switchesUser reports whether the shell runs as another uid than the
// server (a real dynamic account), as opposed to unprivileged dev mode.
func (s *Server) switchesUser(b *Binding) bool {
	return os.Geteuid() == 0 && b.UID != 0
}

// liveShell is one running GISH process and the SSH session it serves.
type liveShell struct {
	sess ssh.Session
	pid  int
	tty  *os.File
	done chan struct{} // output copied

	ttyMu     sync.Mutex // window changes vs close of tty
	ttyClosed bool
}

func (l *liveShell) startPty(cmd *exec.Cmd, req ssh.Pty, winCh <-chan ssh.Window) error {
	cmd.SysProcAttr.Setctty = true
	size := &pty.Winsize{Rows: uint16(req.Window.Height), Cols: uint16(req.Window.Width)}
	tty, err := pty.StartWithAttrs(cmd, size, cmd.SysProcAttr)
	if err != nil {
		return err
	}
	l.tty, l.done = tty, make(chan struct{})
	go func() {
		for w := range winCh {
			l.ttyMu.Lock()
			if !l.ttyClosed {
				pty.Setsize(tty, &pty.Winsize{Rows: uint16(w.Height), Cols: uint16(w.Width)})
			}
			l.ttyMu.Unlock()
		}
	}()
	go io.Copy(tty, l.sess)
	go func() {
		io.Copy(l.sess, tty) // ends with EIO when the last holder of the tty exits
		close(l.done)
	}()
	return nil
}

func (l *liveShell) startPipes(cmd *exec.Cmd) error {
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = l.sess, l.sess.Stderr()
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() {
		io.Copy(in, l.sess)
		in.Close()
	}()
	return nil
}

// wait waits for GISH to exit and for its output to be delivered.
func (l *liveShell) wait(cmd *exec.Cmd) int {
	err := cmd.Wait()
	// Programs GISH started die with it: they carry no Pdeathsig (their
	// forking thread exits at once, confine.Ruleset.Start), so what is
	// left of the shell's Unix session is killed here.
	killSession(l.pid)
	if l.tty != nil {
		select {
		case <-l.done:
		case <-time.After(time.Second):
		}
		l.ttyMu.Lock()
		l.ttyClosed = true
		l.tty.Close()
		l.ttyMu.Unlock()
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ee.ExitCode() >= 0 {
			return ee.ExitCode()
		}
		return 255
	}
	return 0
}

// hangup tells the shell's process group its connection is gone.
func (l *liveShell) hangup() {
	if l.pid > 0 {
		syscall.Kill(-l.pid, syscall.SIGHUP)
	}
}

// kill SIGKILLs every process of the shell's Unix session and closes the
// SSH connection.
func (l *liveShell) kill() {
	if l.pid > 0 {
		killSession(l.pid)
	}
	if c, ok := l.sess.Context().Value(ssh.ContextKeyConn).(interface{ Close() error }); ok {
		c.Close()
	}
}
