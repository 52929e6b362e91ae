package gish

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// sacServer is a real SAC socket for tests: it identifies every caller by
// SO_PEERCRED and denies the applications in deny with their reason.
type sacServer struct {
	path string
	mu   sync.Mutex
	uids []uint32
	apps []string
}

func startSAC(t *testing.T, deny map[string]string) *sacServer {
	t.Helper()
	s := &sacServer{path: filepath.Join(t.TempDir(), "sac.sock")}
	ln, err := net.Listen("unix", s.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c.(*net.UnixConn), deny)
		}
	}()
	return s
}

func (s *sacServer) serve(c *net.UnixConn, deny map[string]string) {
	defer c.Close()
	raw, _ := c.SyscallConn()
	var cred *unix.Ucred
	raw.Control(func(fd uintptr) { cred, _ = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) })
	line, err := bufio.NewReader(c).ReadBytes('\n')
	var req SACRequest
	if err != nil || json.Unmarshal(line, &req) != nil || cred == nil {
		return
	}
	s.mu.Lock()
	s.uids, s.apps = append(s.uids, cred.Uid), append(s.apps, req.App)
	s.mu.Unlock()
	why, denied := deny[req.App]
	b, _ := json.Marshal(SACReply{Allow: !denied, Reason: why})
	c.Write(append(b, '\n'))
}

func TestSAMAsksTheSAC(t *testing.T) {
	sac := startSAC(t, map[string]string{"sleep": "CPU budget of the session is used up"})
	p := testPolicy(t)
	sh, out, errb := shellWith(t, p, sac.path)
	st, _ := sh.Run(context.Background(), "id -u; sleep 1; echo after")
	if !strings.Contains(errb.String(), "CPU budget of the session is used up") || !strings.Contains(errb.String(), "rule: admission") {
		t.Errorf("stderr %q: want the SAC's reason and rule admission", errb)
	}
	if st != 126 || strings.Contains(out.String(), "after") {
		t.Errorf("status %d, out %q: a Deny must stop the line", st, out)
	}
	sac.mu.Lock()
	defer sac.mu.Unlock()
	if len(sac.apps) != 2 || sac.apps[0] != "id" || sac.apps[1] != "sleep" {
		t.Errorf("SAC saw %v, want [id sleep]", sac.apps)
	}
	for _, u := range sac.uids {
		if u != uint32(os.Getuid()) {
			t.Errorf("SO_PEERCRED uid %d, want %d", u, os.Getuid())
		}
	}
}

func TestSAMFailsClosed(t *testing.T) {
	p := testPolicy(t)
	sh, out, errb := shellWith(t, p, filepath.Join(t.TempDir(), "no-sac.sock"))
	if st, _ := sh.Run(context.Background(), "id -u"); st != 126 || out.Len() != 0 || !strings.Contains(errb.String(), "SAC unreachable") {
		t.Errorf("no SAC: status %d out %q err %q; want a denial naming the SAC", st, out, errb)
	}
}
