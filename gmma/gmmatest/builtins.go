package gmmatest

import (
	"net"
	"os"
	"strconv"
	"time"
)

// Builtin programs the re-exec'd child can run instead of exec'ing one.
const (
	CPUHog = "gmmatest-cpuhog" // spins until killed
	MemHog = "gmmatest-memhog" // touches MiB after MiB (argv[1], default 1024) then waits
	// NetSend sends argv[3] bytes to argv[2] over argv[1] (udp or tcp) in
	// 8000-byte writes and exits 0.
	NetSend = "gmmatest-netsend"
)

var builtins = map[string]func(args []string) int{
	CPUHog:  cpuHog,
	MemHog:  memHog,
	NetSend: netSend,
}

func netSend(args []string) int {
	if len(args) != 3 {
		os.Stderr.WriteString("netsend: want proto addr bytes\n")
		return 2
	}
	n, err := strconv.Atoi(args[2])
	if err != nil {
		os.Stderr.WriteString("netsend: bytes: " + err.Error() + "\n")
		return 2
	}
	c, err := net.Dial(args[0], args[1])
	if err != nil {
		os.Stderr.WriteString("netsend: " + err.Error() + "\n")
		return 3
	}
	buf := make([]byte, 8000)
	for n > 0 {
		k := min(n, len(buf))
		if _, err := c.Write(buf[:k]); err != nil {
			os.Stderr.WriteString("netsend: " + err.Error() + "\n")
			return 4
		}
		n -= k
	}
	if err := c.Close(); err != nil {
		os.Stderr.WriteString("netsend: " + err.Error() + "\n")
		return 5
	}
	return 0
}

var sink uint64

func cpuHog([]string) int {
	for i := uint64(0); ; i++ {
		sink += i * i
	}
}

func memHog(args []string) int {
	mib := 1024
	if len(args) > 0 {
		mib, _ = strconv.Atoi(args[0])
	}
	var keep [][]byte
	for i := 0; i < mib; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		keep = append(keep, b)
	}
	os.Stdout.WriteString("allocated\n")
	time.Sleep(time.Hour)
	return len(keep)
}
