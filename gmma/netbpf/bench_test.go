package netbpf

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// joinGroup moves this whole process into dir and returns a func that moves
// it back to the v2 group it was in.
func joinGroup(b *testing.B, dir string) func() {
	b.Helper()
	raw, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		b.Fatal(err)
	}
	var home string
	for _, l := range strings.Split(string(raw), "\n") {
		if p, ok := strings.CutPrefix(l, "0::"); ok {
			home = filepath.Join(filepath.Dir(dir), p) // dir is right below the mount
		}
	}
	if home == "" {
		b.Fatal("no cgroup-v2 line in /proc/self/cgroup")
	}
	pid := []byte(strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), pid, 0); err != nil {
		b.Fatal(err)
	}
	return func() {
		if err := os.WriteFile(filepath.Join(home, "cgroup.procs"), pid, 0); err != nil {
			b.Errorf("move back to %s: %v", home, err)
		}
	}
}

// BenchmarkLoopbackUDP sends 1,400-byte datagrams over loopback from a
// process inside a cgroup-v2 group, with and without the counting programs
// attached (the peer: the same path with no program): the per-packet cost
// of the accounting, each datagram crossing egress and ingress once.
func BenchmarkLoopbackUDP(b *testing.B) {
	for _, withBPF := range []bool{false, true} {
		name := "no_program"
		if withBPF {
			name = "cgroup_skb"
		}
		b.Run(name, func(b *testing.B) {
			dir := testGroup(b)
			var c *Counter
			if withBPF {
				var err error
				if c, err = Attach(dir); err != nil {
					b.Skipf("attach: %v", err)
				}
				defer c.Close()
			}
			back := joinGroup(b, dir)
			defer back()
			rx, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer rx.Close()
			tx, err := net.Dial("udp", rx.LocalAddr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer tx.Close()
			msg, buf := make([]byte, 1400), make([]byte, 2048)
			b.SetBytes(int64(len(msg)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := tx.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, _, err := rx.ReadFrom(buf); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if c != nil {
				got, err := c.Read()
				if err != nil {
					b.Fatal(err)
				}
				if got.TxPackets < uint64(b.N) || got.RxPackets < uint64(b.N) {
					b.Fatalf("counted %+v for %d datagrams", got, b.N)
				}
			}
		})
	}
}
