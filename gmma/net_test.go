package gmma_test

import (
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/igrid/igrid/gmma"
	"github.com/igrid/igrid/gmma/cgroup"
	"github.com/igrid/igrid/gmma/gmmatest"
	"github.com/igrid/igrid/gmma/sensor"
)

// sinks are a UDP and a TCP listener on 127.0.0.1 that count what arrives.
type sinks struct {
	udp net.PacketConn
	tcp net.Listener
	got atomic.Int64
}

func newSinks(t *testing.T) *sinks {
	t.Helper()
	s := &sinks{}
	var err error
	if s.udp, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if s.tcp, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.udp.Close(); s.tcp.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := s.udp.ReadFrom(buf)
			if err != nil {
				return
			}
			s.got.Add(int64(n))
		}
	}()
	go func() {
		for {
			c, err := s.tcp.Accept()
			if err != nil {
				return
			}
			go func() {
				n, _ := io.Copy(io.Discard, c)
				s.got.Add(n)
				c.Close()
			}()
		}
	}()
	return s
}

// TestSessionNetworkBytesAllProtocols: a real dynamic account's session
// sends UDP and TCP to 127.0.0.1; the monitor's per-session tx counts both,
// within a few % of the payload sent (the rest is IP/UDP/TCP headers).
func TestSessionNetworkBytesAllProtocols(t *testing.T) {
	acct := gmmatest.NewAccount(t)
	g, err := cgroup.New("s-"+gmmatest.Tag(4), cgroup.Limits{MaxProcs: 50}, cgroup.Options{Parent: "igrid-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := g.Delete(); err != nil {
			t.Errorf("delete cgroup: %v", err)
		}
	})
	if cgroup.NetDir(g) == "" {
		t.Skip("no cgroup-v2 group on this host: network bytes fall back to sock_diag (TCP only)")
	}
	mon, err := gmma.NewMonitor(gmma.MonitorConfig{Node: "node-t", Cluster: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := mon.Watch(sessionID, sensor.Target{Group: g}, gmma.SLA{}); err != nil {
		t.Fatal(err)
	}
	defer mon.Unwatch(sessionID)
	s, err := mon.SampleNow()
	if err != nil {
		t.Fatal(err)
	}
	if u := s.Sessions[0]; u.NetMethod != sensor.NetCgroupSKB {
		t.Fatalf("net method %q (%s), want %s", u.NetMethod, u.NetNote, sensor.NetCgroupSKB)
	}
	sink := newSinks(t)
	const udpBytes, tcpBytes = 1_600_000, 4_000_000
	for _, c := range []struct {
		proto, addr string
		n           int
	}{{"udp", sink.udp.LocalAddr().String(), udpBytes}, {"tcp", sink.tcp.Addr().String(), tcpBytes}} {
		p := gmmatest.Start(t, g, acct, gmmatest.NetSend, c.proto, c.addr, strconv.Itoa(c.n))
		select {
		case <-p.Done:
		case <-time.After(20 * time.Second):
			t.Fatalf("%s sender still running after 20s", c.proto)
		}
		if !p.Cmd.ProcessState.Success() {
			t.Fatalf("%s sender: %v: %s", c.proto, p.Cmd.ProcessState, p.Stderr.String())
		}
	}
	// The sender's side is what the session is charged; loopback UDP may
	// drop datagrams at the sink, TCP must arrive whole.
	gmmatest.CheckFor(t, 10*time.Second, "the TCP bytes to arrive", func() bool { return sink.got.Load() >= tcpBytes })
	s, err = mon.SampleNow()
	if err != nil {
		t.Fatal(err)
	}
	u := s.Sessions[0]
	sent := uint64(udpBytes + tcpBytes)
	t.Logf("sent %d payload bytes (UDP %d, TCP %d); session counted tx %d rx %d by %s", sent, udpBytes, tcpBytes,
		u.NetTxBytes, u.NetRxBytes, u.NetMethod)
	if u.NetTxBytes < sent || u.NetTxBytes > sent*103/100 {
		t.Fatalf("session tx %d bytes, want within [%d, %d] (UDP and TCP payload + headers)", u.NetTxBytes, sent, sent*103/100)
	}
	if u.NetRxBytes == 0 {
		t.Fatal("session rx 0 bytes: the TCP handshake and ACKs were not counted")
	}
}
