package sensor

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/igrid/igrid/gmma/cgroup"
	"github.com/igrid/igrid/gmma/gmmatest"
	"github.com/igrid/igrid/gmma/netbpf"
)

// TestNetSensorFallsBackWhenBPFRefused: a session with a v2 group whose
// programs the kernel refuses is counted by sock_diag, and its samples say
// so with the kernel's reason; Forget clears the session.
func TestNetSensorFallsBackWhenBPFRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a real cgroup")
	}
	g, err := cgroup.New("s-"+gmmatest.Tag(4), cgroup.Limits{}, cgroup.Options{Parent: "igrid-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Delete() })
	if cgroup.NetDir(g) == "" {
		t.Skip("no cgroup-v2 group on this host")
	}
	refused := errors.New("bpf prog load: operation not permitted")
	n := NewNetSensorWith(SockDiag{})
	n.attach = func(string) (*netbpf.Counter, error) { return nil, refused }
	tg := &Target{Session: "s1", Group: g}
	if err := n.Watch(tg); err != nil {
		t.Fatal(err)
	}
	var out Session
	if err := n.CollectSession(tg, &out); err != nil {
		t.Fatal(err)
	}
	if out.NetMethod != NetSockDiag || !strings.Contains(out.NetNote, refused.Error()) {
		t.Fatalf("method %q note %q, want %s with the kernel's reason", out.NetMethod, out.NetNote, NetSockDiag)
	}
	n.Forget("s1")
	out = Session{}
	_ = n.CollectSession(tg, &out)
	if !strings.Contains(out.NetNote, "not watched") {
		t.Fatalf("after Forget: note %q, want the session unknown", out.NetNote)
	}
}
