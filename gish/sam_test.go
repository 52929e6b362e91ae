package gish

import (
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/igrid/igrid/sac"
)

// sacServer is a real SAC socket for tests (sac.Server): it identifies
// every caller by SO_PEERCRED, denies the applications in deny with their
// reason, and stages user binaries (StageUserBinary) below dataDir with the
// trusted keys.
type sacServer struct {
	path    string
	dataDir string
	mu      sync.Mutex
	uids    []uint32
	apps    []string
	trusted []ed25519.PublicKey
	staged  []string
}

type noLimits struct{}

func (noLimits) Session(string) (sac.Limits, sac.Current, error) {
	return sac.Limits{}, sac.Current{}, nil
}

func startSAC(t testing.TB, deny map[string]string) *sacServer {
	t.Helper()
	dir, err := os.MkdirTemp("", "gish-sac")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755) // real accounts connect and run staged copies
	s := &sacServer{path: filepath.Join(dir, "sac.sock"), dataDir: dir}
	ctl, _ := sac.New(sac.Config{State: noLimits{}, Policy: func(_, app string, _ []string) string { return deny[app] }})
	srv, err := sac.NewServer(sac.ServerConfig{Path: s.path, Controller: ctl,
		Sessions: sac.ResolverFunc(func(uid uint32) (string, bool) { return "s-t", true }),
		Stage:    s.stage,
		Audit: func(uid uint32, d sac.Decision) {
			s.mu.Lock()
			s.uids, s.apps = append(s.uids, uid), append(s.apps, d.App)
			s.mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()); os.RemoveAll(dir) })
	return s
}

// trust makes keys the signers the stager trusts.
func (s *sacServer) trust(keys ...ed25519.PublicKey) {
	s.mu.Lock()
	s.trusted = keys
	s.mu.Unlock()
}

func (s *sacServer) stage(session, name string, f *os.File, sig []byte) (string, error) {
	s.mu.Lock()
	trusted := s.trusted
	s.mu.Unlock()
	p, err := StageUserBinary(StageDir(s.dataDir, session), f, sig, trusted)
	if err == nil {
		s.mu.Lock()
		s.staged = append(s.staged, p)
		s.mu.Unlock()
	}
	return p, err
}

func TestSAMAsksTheSAC(t *testing.T) {
	srv := startSAC(t, map[string]string{"sleep": "CPU budget of the session is used up"})
	p := testPolicy(t)
	sh, out, errb := shellWith(t, p, srv.path)
	st, _ := sh.Run(context.Background(), "id -u; sleep 1; echo after")
	if !strings.Contains(errb.String(), "CPU budget of the session is used up") || !strings.Contains(errb.String(), "rule: admission") {
		t.Errorf("stderr %q: want the SAC's reason and rule admission", errb)
	}
	if st != 126 || strings.Contains(out.String(), "after") {
		t.Errorf("status %d, out %q: a Deny must stop the line", st, out)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.apps) != 2 || srv.apps[0] != "id" || srv.apps[1] != "sleep" {
		t.Errorf("SAC saw %v, want [id sleep]", srv.apps)
	}
	for _, u := range srv.uids {
		if u != uint32(os.Getuid()) {
			t.Errorf("SO_PEERCRED uid %d, want %d", u, os.Getuid())
		}
	}
}

func TestSAMFailsClosed(t *testing.T) {
	p := testPolicy(t)
	sh, out, errb := shellWith(t, p, filepath.Join(t.TempDir(), "no-sac.sock"))
	if st, _ := sh.Run(context.Background(), "id -u"); st != 126 || out.Len() != 0 || !strings.Contains(errb.String(), "cannot be admitted: sac: dial") {
		t.Errorf("no SAC: status %d out %q err %q; want a denial naming the SAC", st, out, errb)
	}
}
