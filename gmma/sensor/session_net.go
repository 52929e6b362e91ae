package sensor

import (
	"sync"
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

// NetSensor counts a session's network bytes at the socket level: the TCP
// sockets its processes hold (from the socket sensor) are looked up in the
// kernel's sock_diag dump, and their counters summed. Bytes of sockets that
// closed since the last sample are kept at their last seen value, so the
// totals never go back. UDP and raw sockets are not counted (see
// gmma/README.md "Network bytes").
type NetSensor struct {
	dump SocketDumper
	mu   sync.Mutex
	seen map[string]*netState // session → state
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
	return NewNetSensorWith(d)
}

// NewNetSensorWith returns the sensor reading dumper d (nil: count nothing).
func NewNetSensorWith(d SocketDumper) *NetSensor {
	return &NetSensor{dump: d, seen: map[string]*netState{}}
}

// Name implements SessionSensor.
func (*NetSensor) Name() string { return NetSensorName }

// CollectSession implements SessionSensor.
func (n *NetSensor) CollectSession(t *Target, out *Session) error {
	if n.dump == nil {
		return nil
	}
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

// Forget drops a session's state when it ends.
func (n *NetSensor) Forget(session string) {
	n.mu.Lock()
	delete(n.seen, session)
	n.mu.Unlock()
}

func hasSockets(ps []Proc) bool {
	for _, p := range ps {
		if len(p.SocketInodes) > 0 {
			return true
		}
	}
	return false
}
