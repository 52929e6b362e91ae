package netbpf

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

const envChild = "NETBPF_TEST_SEND" // "udp|tcp addr bytes"

func TestMain(m *testing.M) {
	if spec := os.Getenv(envChild); spec != "" {
		os.Exit(child(spec))
	}
	os.Exit(m.Run())
}

// child sends n bytes to addr over proto in 8000-byte writes.
func child(spec string) int {
	var proto, addr string
	var n int
	if _, err := fmt.Sscan(spec, &proto, &addr, &n); err != nil {
		return 2
	}
	c, err := net.Dial(proto, addr)
	if err != nil {
		return 3
	}
	defer c.Close()
	buf := make([]byte, 8000)
	for n > 0 {
		k := min(n, len(buf))
		if _, err := c.Write(buf[:k]); err != nil {
			return 4
		}
		n -= k
	}
	return 0
}

// testGroup makes a throwaway cgroup-v2 directory, removed at the end.
func testGroup(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a cgroup and attaches BPF programs")
	}
	mount := "/sys/fs/cgroup/unified"
	if _, err := os.Stat(filepath.Join(mount, "cgroup.procs")); err != nil {
		mount = "/sys/fs/cgroup"
	}
	if _, err := os.Stat(filepath.Join(mount, "cgroup.controllers")); err != nil {
		t.Skip("no cgroup-v2 hierarchy mounted")
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	dir := filepath.Join(mount, "igtest-netbpf-"+hex.EncodeToString(b))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Remove(dir); err != nil {
			t.Errorf("remove %s: %v", dir, err)
		}
	})
	return dir
}

// sendFrom runs the child inside dir (cloned into it) and waits.
func sendFrom(t *testing.T, dir, proto, addr string, n int) {
	t.Helper()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = []string{envChild + "=" + proto + " " + addr + " " + strconv.Itoa(n)}
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(d.Fd())}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child %s: %v: %s", proto, err, out)
	}
}

func TestCounterCountsUDPAndTCP(t *testing.T) {
	dir := testGroup(t)
	c, err := Attach(dir)
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("kernel refused: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, _, err := udp.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	go func() {
		for {
			conn, err := tcp.Accept()
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, conn)
			conn.Close()
		}
	}()

	const udpBytes, tcpBytes = 800_000, 2_000_000
	sendFrom(t, dir, "udp", udp.LocalAddr().String(), udpBytes)
	got, err := c.Read()
	if err != nil {
		t.Fatal(err)
	}
	// 100 datagrams of 8000 bytes, each with a 28-byte IP+UDP header.
	if lo, hi := uint64(udpBytes), uint64(udpBytes*102/100); got.TxBytes < lo || got.TxBytes > hi {
		t.Fatalf("after UDP: tx %d bytes, want within [%d, %d] (%+v)", got.TxBytes, lo, hi, got)
	}
	sendFrom(t, dir, "tcp", tcp.Addr().String(), tcpBytes)
	after, err := c.Read()
	if err != nil {
		t.Fatal(err)
	}
	tx := after.TxBytes - got.TxBytes
	if lo, hi := uint64(tcpBytes), uint64(tcpBytes*103/100); tx < lo || tx > hi {
		t.Fatalf("TCP: tx %d bytes, want within [%d, %d] (%+v)", tx, lo, hi, after)
	}
	if after.RxPackets == 0 {
		t.Fatalf("TCP: no packet received (SYN-ACK, ACKs): %+v", after)
	}
	t.Logf("sent %d UDP + %d TCP payload bytes; counted %+v", udpBytes, tcpBytes, after)
	if n := attached(t, dir, unix.BPF_CGROUP_INET_EGRESS); n != 1 {
		t.Fatalf("%d egress programs attached, want 1", n)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []uint32{unix.BPF_CGROUP_INET_INGRESS, unix.BPF_CGROUP_INET_EGRESS} {
		if n := attached(t, dir, typ); n != 0 {
			t.Fatalf("after Close: %d programs still attached (type %d)", n, typ)
		}
	}
	if _, err := c.Read(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close: %v, want ErrClosed", err)
	}
}

// attached asks the kernel how many programs of type typ dir has
// (BPF_PROG_QUERY).
func attached(t *testing.T, dir string, typ uint32) int {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var q struct {
		targetFd, attachType, queryFlags, attachFlags uint32
		progIDs                                       uint64
		progCnt                                       uint32
	}
	q.targetFd, q.attachType = uint32(fd), typ
	if _, err := bpf(unix.BPF_PROG_QUERY, unsafe.Pointer(&q), unsafe.Sizeof(q)); err != nil {
		t.Fatalf("prog query: %v", err)
	}
	return int(q.progCnt)
}
