package gmma_test

import (
	"bufio"
	"context"
	"math/rand"
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

// BenchmarkViolationToAction starts a CPU hog at a random phase of a
// 100 ms sampling clock and measures the time from its start to the renice
// (the enforcer acts in the sample that first measures the breach), and
// separately the enforcer's own decision time from the end of that sample.
// A process younger than 10 ms is not charged (its CPU ticks are 10 ms), so
// a hog started just before a sample is caught by the next one.
func BenchmarkViolationToAction(b *testing.B) {
	for _, p := range []time.Duration{100 * time.Millisecond, time.Second} {
		b.Run("period_"+p.String(), func(b *testing.B) { violationToAction(b, p) })
	}
}

func violationToAction(b *testing.B, period time.Duration) {
	acted := make(chan time.Time, 16)
	enf, err := gmma.NewEnforcer(gmma.EnforcerConfig{Node: "bench", Policy: gmma.EnforcePolicy{KillAbove: 1000},
		OnAct: func(ev gmma.AuditEvent) {
			if ev.Action == gmma.ActionReniceDown {
				acted <- time.Now()
			}
		}})
	if err != nil {
		b.Fatal(err)
	}
	var worst, total, decide time.Duration
	for i := 0; i < b.N; i++ {
		m, err := gmma.NewMonitor(gmma.MonitorConfig{Node: "bench", Interval: period})
		if err != nil {
			b.Fatal(err)
		}
		var sampled time.Time
		m.Subscribe(func(gmma.Sample) { sampled = time.Now() })
		m.Subscribe(enf.Observe)
		_ = m.Start()
		// The breach begins at a random phase of the sampling clock.
		time.Sleep(time.Duration(rand.Int63n(int64(period))))
		hog := exec.Command("sh", "-c", "while :; do :; done")
		start := time.Now()
		if err := hog.Start(); err != nil {
			b.Fatal(err)
		}
		id := "s-" + strconv.Itoa(i)
		_ = m.Watch(id, sensor.Target{PIDs: []int{hog.Process.Pid}}, gmma.SLA{CPUPercent: 20})
		select {
		case at := <-acted:
			lat := at.Sub(start)
			total += lat
			worst = max(worst, lat)
			decide += at.Sub(sampled)
		case <-time.After(10 * time.Second):
			b.Fatal("no renice within 10s")
		}
		_ = m.Shutdown(context.Background())
		enf.Disarm(id)
		_ = hog.Process.Kill()
		_ = hog.Wait()
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "avg-ms")
	b.ReportMetric(float64(worst.Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(decide.Microseconds())/float64(b.N), "decide-µs")
	b.ReportMetric(float64(period.Milliseconds()+10), "budget-ms")
}
