package sensor

import (
	"errors"
	"sync"

	"github.com/igrid/igrid/gmma/cgroup"
	"github.com/igrid/igrid/gmma/netbpf"
)

// How a session's network bytes were counted (Session.NetMethod).
const (
	// NetCgroupSKB: every packet of the session's sockets, any protocol,
	// counted by cgroup-BPF programs on its v2 group (gmma/netbpf).
	NetCgroupSKB = "cgroup_skb"
	// NetSockDiag: the fallback, TCP payload only, from sock_diag.
	NetSockDiag = "sock_diag"
)

// NetSensorName names the session network sensor.
const NetSensorName = "session_net"

// SocketBytes are one TCP socket's payload counters.
type SocketBytes struct {
	Received uint64 // tcpi_bytes_received
	Acked    uint64 // tcpi_bytes_acked (sent and acknowledged)
}

// SocketDumper lists every TCP socket of the node with its byte counters,
// keyed by inode. The real one asks the kernel over NETLINK_SOCK_DIAG.
type SocketDumper interface {
	DumpTCP() (map[uint64]SocketBytes, error)
}

// NetSensor counts a session's network bytes. When the session was
// watched (Watch) with a cgroup that has a v2 group (cgroup.NetDir), it
// attaches gmma/netbpf's counters there and reads them: every packet of
// every protocol, IP headers included. Otherwise it falls back to the socket
// level, and says so in the sample (NetMethod, NetNote): the TCP sockets the
// session's processes hold (from the socket sensor) are looked up in the
// kernel's sock_diag dump, and their counters summed. Bytes of sockets that
// closed since the last sample are kept at their last seen value, so the
// totals never go back; UDP and raw sockets are not counted (see
// gmma/README.md "Network bytes").
type NetSensor struct {
	dump SocketDumper
	// attach is netbpf.Attach (nil: never use BPF).
	attach   func(dir string) (*netbpf.Counter, error)
	mu       sync.Mutex
	seen     map[string]*netState       // session → sock_diag state
	counters map[string]*netbpf.Counter // session → BPF counter
	notes    map[string]string          // session → why BPF is not used
}

type netState struct {
	open    map[uint64]SocketBytes
	retired SocketBytes
}

var _ SessionSensor = (*NetSensor)(nil)

// NewNetSensor returns the sensor with the kernel's sock_diag dumper, or
// with no dumper (zero counts) when procRoot is a fixture tree.
func NewNetSensor(procRoot string) *NetSensor {
	var d SocketDumper
	if procRoot == "" || procRoot == "/proc" {
		d = SockDiag{}
	}
	n := NewNetSensorWith(d)
	if d != nil {
		n.attach = netbpf.Attach
	}
	return n
}

// NewNetSensorWith returns the sensor reading dumper d (nil: count nothing),
// without BPF counters.
func NewNetSensorWith(d SocketDumper) *NetSensor {
	return &NetSensor{dump: d, seen: map[string]*netState{}, counters: map[string]*netbpf.Counter{}, notes: map[string]string{}}
}

// Watch attaches the BPF counters to the session's v2 group; when that is
// not possible the session is counted by sock_diag and the reason is kept
// for its samples (NetNote). It implements Watcher.
func (n *NetSensor) Watch(t *Target) error {
	note := ""
	var c *netbpf.Counter
	switch dir := netDir(t); {
	case n.attach == nil:
		note = "cgroup BPF accounting off (fixture procfs)"
	case dir == "":
		note = "no cgroup-v2 group for the session"
	default:
		var err error
		if c, err = n.attach(dir); err != nil {
			note = err.Error()
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if old := n.counters[t.Session]; old != nil {
		_ = old.Close()
	}
	delete(n.counters, t.Session)
	delete(n.notes, t.Session)
	if c != nil {
		n.counters[t.Session] = c
	} else {
		n.notes[t.Session] = note
	}
	return nil
}

func netDir(t *Target) string {
	if t.Group == nil {
		return ""
	}
	return cgroup.NetDir(t.Group)
}

// Name implements SessionSensor.
func (*NetSensor) Name() string { return NetSensorName }

// CollectSession implements SessionSensor.
func (n *NetSensor) CollectSession(t *Target, out *Session) error {
	n.mu.Lock()
	c, note := n.counters[t.Session], n.notes[t.Session]
	n.mu.Unlock()
	if c != nil {
		return collectBPF(c, t, out)
	}
	if n.dump == nil {
		return nil
	}
	out.NetMethod, out.NetNote = NetSockDiag, note
	if note == "" {
		out.NetNote = "session not watched by the network sensor"
	}
	return n.collectSockDiag(t, out)
}

// collectBPF reads the session's counters, first moving into the v2 group
// any process that joined the v1 groups by itself.
func collectBPF(c *netbpf.Counter, t *Target, out *Session) error {
	out.NetMethod = NetCgroupSKB
	_, serr := cgroup.SyncNet(t.Group)
	cnt, err := c.Read()
	if err != nil {
		return errors.Join(serr, err)
	}
	out.NetRxBytes, out.NetTxBytes = cnt.RxBytes, cnt.TxBytes
	return serr
}

func (n *NetSensor) collectSockDiag(t *Target, out *Session) error {
	n.mu.Lock()
	st := n.seen[t.Session]
	n.mu.Unlock()
	if !hasSockets(out.Procs) && (st == nil || len(st.open) == 0) {
		// No socket now and none open before: nothing to look up.
		if st != nil {
			out.NetRxBytes, out.NetTxBytes = st.retired.Received, st.retired.Acked
		}
		return nil
	}
	all, err := n.dump.DumpTCP()
	if err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	st = n.seen[t.Session]
	if st == nil {
		st = &netState{open: map[uint64]SocketBytes{}}
		n.seen[t.Session] = st
	}
	now := map[uint64]SocketBytes{}
	for _, p := range out.Procs {
		for _, ino := range p.SocketInodes {
			if b, ok := all[ino]; ok {
				now[ino] = b
			}
		}
	}
	for ino, b := range st.open {
		if _, still := now[ino]; !still {
			st.retired.Received += b.Received
			st.retired.Acked += b.Acked
		}
	}
	st.open = now
	out.NetRxBytes, out.NetTxBytes = st.retired.Received, st.retired.Acked
	for _, b := range now {
		out.NetRxBytes += b.Received
		out.NetTxBytes += b.Acked
	}
	return nil
}

// Forget drops a session's state when it ends and detaches its BPF
// counters. It implements Forgetter.
func (n *NetSensor) Forget(session string) {
	n.mu.Lock()
	c := n.counters[session]
	delete(n.seen, session)
	delete(n.counters, session)
	delete(n.notes, session)
	n.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}

func hasSockets(ps []Proc) bool {
	for _, p := range ps {
		if len(p.SocketInodes) > 0 {
			return true
		}
	}
	return false
}
