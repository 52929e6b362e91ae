package gmma_test

import (
	"bufio"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/igrid/igrid/gmma"
	"github.com/igrid/igrid/gmma/sensor"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// spawn starts n sleeping processes and returns their pids.
func spawn(b *testing.B, n int) []int {
	b.Helper()
	cmd := exec.Command("sh", "-c", "for i in $(seq "+strconv.Itoa(n)+"); do sleep 600 & echo $!; done; wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() })
	var pids []int
	sc := bufio.NewScanner(out)
	for len(pids) < n && sc.Scan() {
		p, err := strconv.Atoi(strings.TrimSpace(sc.Text()))
		if err == nil {
			pids = append(pids, p)
		}
	}
	return pids
}

// BenchmarkAgent1000Procs measures the monitoring agent's own CPU per
// sample of one session of 1,000 processes with every sensor, reported as
// the share of one core it would take at 1 Hz.
func BenchmarkAgent1000Procs(b *testing.B) {
	pids := spawn(b, 1000)
	for _, slow := range []int{1, 10} {
		b.Run("slow_every_"+strconv.Itoa(slow), func(b *testing.B) {
			reg, err := sensor.Default(sensor.Config{SlowEvery: slow})
			if err != nil {
				b.Fatal(err)
			}
			m, err := gmma.NewMonitor(gmma.MonitorConfig{Node: "bench", Sensors: reg})
			if err != nil {
				b.Fatal(err)
			}
			if err := m.Watch("s-bench", sensor.Target{PIDs: pids}, gmma.SLA{CPUPercent: 100}); err != nil {
				b.Fatal(err)
			}
			_, _ = m.SampleNow()
			b.ResetTimer()
			c0 := cpuTime()
			var procs int
			for i := 0; i < b.N; i++ {
				s, _ := m.SampleNow()
				procs = s.Sessions[0].Processes
			}
			cpu := cpuTime() - c0
			b.ReportMetric(float64(procs), "procs")
			b.ReportMetric(cpu.Seconds()/float64(b.N)*100, "core%@1Hz")
		})
	}
}
