package sensor_test

import (
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/igrid/igrid/gmma/sensor"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

var fixedNow = func() time.Time { return time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC) }

func fixture(t *testing.T) *sensor.Registry {
	t.Helper()
	r, err := sensor.Default(sensor.Config{ProcRoot: "testdata/proc", DiskRoot: "testdata", Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != string(got)+"\n" {
		t.Errorf("%s differs from the golden file:\n got: %s\nwant: %s", name, got, want)
	}
}

func TestSessionGolden(t *testing.T) {
	r := fixture(t)
	// 999 does not exist: a process that exits between listing and reading is skipped.
	s, err := r.Session(&sensor.Target{Session: "s-1", PIDs: []int{100, 101, 999}})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "session.golden.json", s)
}

func TestNodeGolden(t *testing.T) {
	r := fixture(t)
	n, err := r.Node()
	if err != nil {
		t.Fatal(err)
	}
	n.DiskTotalBytes, n.DiskFreeBytes = 0, 0 // depends on the host's file system
	golden(t, "node.golden.json", n)
}

func TestRegistry(t *testing.T) {
	r, err := sensor.NewRegistry(sensor.Config{ProcRoot: "testdata/proc"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		s    any
		want error
	}{
		{"first", sensor.NewStatSensor(""), nil},
		{"duplicate", sensor.NewStatSensor(""), sensor.ErrDuplicate},
		{"not a sensor", 42, errAny},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := r.Register(c.s)
			if c.want == nil && err != nil || c.want == errAny && err == nil ||
				c.want != nil && c.want != errAny && !errors.Is(err, c.want) {
				t.Fatalf("Register = %v, want %v", err, c.want)
			}
		})
	}
	if _, err := r.Session(&sensor.Target{Session: "x"}); !errors.Is(err, sensor.ErrNoTarget) {
		t.Fatalf("Session with no pids and no group = %v, want ErrNoTarget", err)
	}
	if _, err := sensor.NewRegistry(sensor.Config{ProcRoot: "testdata/nope"}); err == nil {
		t.Fatal("a missing procfs root must be an error")
	}
}

var errAny = errors.New("any error")

type fakeDump map[uint64]sensor.SocketBytes

func (f fakeDump) DumpTCP() (map[uint64]sensor.SocketBytes, error) { return f, nil }

func TestNetSensorKeepsClosedSocketBytes(t *testing.T) {
	d := fakeDump{1: {Received: 100, Acked: 10}, 2: {Received: 5, Acked: 7}, 3: {Received: 1000, Acked: 1000}}
	n := sensor.NewNetSensorWith(d)
	tg := &sensor.Target{Session: "s"}
	out := &sensor.Session{Procs: []sensor.Proc{{SocketInodes: []uint64{1, 2}}}}
	if err := n.CollectSession(tg, out); err != nil {
		t.Fatal(err)
	}
	if out.NetRxBytes != 105 || out.NetTxBytes != 17 {
		t.Fatalf("first sample rx/tx = %d/%d, want 105/17", out.NetRxBytes, out.NetTxBytes)
	}
	d[1] = sensor.SocketBytes{Received: 300, Acked: 20}
	out = &sensor.Session{Procs: []sensor.Proc{{SocketInodes: []uint64{1}}}} // socket 2 closed
	if err := n.CollectSession(tg, out); err != nil {
		t.Fatal(err)
	}
	if out.NetRxBytes != 305 || out.NetTxBytes != 27 {
		t.Fatalf("after a close rx/tx = %d/%d, want 305/27 (closed socket kept)", out.NetRxBytes, out.NetTxBytes)
	}
}

// TestRealProcessAndTCP samples this test process on the real /proc while it
// sends 256 KiB over a real TCP connection.
func TestRealProcessAndTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{})
	go func() {
		c, err := ln.Accept()
		close(accepted)
		if err == nil {
			_, _ = io.Copy(io.Discard, c)
			c.Close()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// All three sockets (listener, both ends) exist before the first sample:
	// the socket sensor runs on every 10th sample, so a first sample taken
	// before Accept returned would count two until then.
	<-accepted
	const n = 256 << 10
	if _, err := c.Write(make([]byte, n)); err != nil {
		t.Fatal(err)
	}
	r, err := sensor.Default(sensor.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var s sensor.Session
	deadline := time.Now().Add(5 * time.Second)
	target := &sensor.Target{Session: "self", PIDs: []int{os.Getpid()}, DiskPaths: []string{"testdata"}}
	if err := r.Watch(target); err != nil {
		t.Fatal(err)
	}
	defer r.Forget(target.Session)
	for {
		s, err = r.Session(target)
		if err != nil {
			t.Fatal(err)
		}
		if s.NetTxBytes >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(s.Procs) != 1 {
		t.Fatalf("procs = %d, want 1", len(s.Procs))
	}
	p := s.Procs[0]
	if p.Threads < 1 || p.RSSBytes == 0 || p.Sockets < 3 || p.App == "" {
		t.Errorf("implausible sample of this process: %+v", p)
	}
	if s.NetTxBytes < n {
		t.Errorf("session tx = %d bytes, want at least %d sent over TCP", s.NetTxBytes, n)
	}
	// No cgroup: the fallback, and the sample says so and why.
	if s.NetMethod != sensor.NetSockDiag || !strings.Contains(s.NetNote, "no cgroup-v2 group") {
		t.Errorf("net method %q note %q, want %s with the reason", s.NetMethod, s.NetNote, sensor.NetSockDiag)
	}
	if s.DiskBytes == 0 {
		t.Errorf("disk usage of testdata = 0")
	}
	nd, err := r.Node()
	if err != nil {
		t.Fatal(err)
	}
	if nd.Cores < 1 || nd.MemTotalBytes == 0 || nd.DiskTotalBytes == 0 || nd.CPUTotalSeconds <= 0 {
		t.Errorf("implausible node sample: %+v", nd)
	}
}

func TestDiskSensorCountsAllocatedBytes(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(dir, "a"), filepath.Join(dir, "b")); err != nil {
		t.Fatal(err)
	}
	out := &sensor.Session{}
	if err := sensor.NewDiskSensor().CollectSession(&sensor.Target{DiskPaths: []string{dir}}, out); err != nil {
		t.Fatal(err)
	}
	if out.DiskBytes < 1<<20 || out.DiskBytes > 1<<20+64<<10 {
		t.Fatalf("disk = %d, want about 1 MiB (hard link counted once)", out.DiskBytes)
	}
}
