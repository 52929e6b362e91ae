package gmmatest

import (
	"os"
	"strconv"
	"time"
)

// Builtin programs the re-exec'd child can run instead of exec'ing one.
const (
	CPUHog = "gmmatest-cpuhog" // spins until killed
	MemHog = "gmmatest-memhog" // touches MiB after MiB (argv[1], default 1024) then waits
)

var builtins = map[string]func(args []string) int{
	CPUHog: cpuHog,
	MemHog: memHog,
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
