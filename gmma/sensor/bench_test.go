package sensor_test

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/igrid/igrid/gmma/sensor"
)

// rawStat is the peer: read /proc/<pid>/stat and parse the same fields by hand.
func rawStat(pid int) (utime, stime uint64, threads int, rss int64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ = strconv.ParseUint(f[11], 10, 64)
	stime, _ = strconv.ParseUint(f[12], 10, 64)
	threads, _ = strconv.Atoi(f[17])
	rss, _ = strconv.ParseInt(f[21], 10, 64)
	return
}

func benchPid(b *testing.B) int {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd.Process.Pid
}

// BenchmarkStatPerProcess compares the stat sensor (CPU, memory, threads per
// process through prometheus/procfs) with the raw read+parse peer.
func BenchmarkStatPerProcess(b *testing.B) {
	pid := benchPid(b)
	b.Run("raw_read_parse", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, _, _, _, err := rawStat(pid); err != nil {
				b.Fatal(err)
			}
		}
	})
	reg, err := sensor.NewRegistry(sensor.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("procfs_Proc_Stat", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p, err := reg.FS().Proc(pid)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := p.Stat(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("proc_stat_first_read", func(b *testing.B) {
		var out sensor.Proc
		for i := 0; i < b.N; i++ {
			s := sensor.NewStatSensor("") // no file kept open yet: open + read + parse
			if err := s.CollectProc(pid, &out); err != nil {
				b.Fatal(err)
			}
			s.Sweep()
			s.Sweep()
		}
	})
	for _, ps := range []sensor.ProcSensor{sensor.NewStatSensor(""), sensor.NewIOSensor(reg.FS()), sensor.NewSocketSensor(reg.FS())} {
		b.Run(ps.Name(), func(b *testing.B) {
			var out sensor.Proc
			for i := 0; i < b.N; i++ {
				if err := ps.CollectProc(pid, &out); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
