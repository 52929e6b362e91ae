package gish

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

func (s *Server) add(id string, l *liveShell) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live[id] == nil {
		s.live[id] = map[*liveShell]struct{}{}
	}
	s.live[id][l] = struct{}{}
}

func (s *Server) remove(id string, l *liveShell) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.live[id], l)
	if len(s.live[id]) == 0 {
		delete(s.live, id)
	}
}

func (s *Server) shells(id string) []*liveShell {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*liveShell, 0, len(s.live[id]))
	for l := range s.live[id] {
		out = append(out, l)
	}
	return out
}

func (s *Server) isEnded(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ended[id]
}

// Warn writes a line to every terminal of the session.
func (s *Server) Warn(sessionID, msg string) {
	for _, l := range s.shells(sessionID) {
		if l.tty != nil {
			fmt.Fprintf(l.sess, "\r\n*** igrid: %s ***\r\n", msg)
		} else {
			fmt.Fprintf(l.sess.Stderr(), "igrid: %s\n", msg)
		}
	}
}

// EndSession refuses further shells of the session, SIGKILLs the process
// sessions of its shells and closes their SSH connections.
func (s *Server) EndSession(sessionID string) {
	s.mu.Lock()
	s.ended[sessionID] = true
	s.mu.Unlock()
	for _, l := range s.shells(sessionID) {
		fmt.Fprintf(l.sess.Stderr(), "\r\nigrid: session %s has ended\r\n", sessionID)
		l.kill()
	}
}

// killSession SIGKILLs the process group sid and every process whose Unix
// session is sid (GISH is its session's leader, so sid is its pid).
func killSession(sid int) {
	syscall.Kill(-sid, syscall.SIGKILL)
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if sessionOf(pid) == sid {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// sessionOf reads the session id (field 6) of /proc/PID/stat; -1 if gone.
func sessionOf(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 4 {
		return -1
	}
	sid, err := strconv.Atoi(f[3])
	if err != nil {
		return -1
	}
	return sid
}
