package gmma

import (
	"sort"

	"github.com/igrid/igrid/gmma/sensor"
)

// userHZ is the kernel's clock tick for /proc/<pid>/stat start times.
const userHZ = 100

// minAge is the youngest a process seen for the first time is charged its
// lifetime average CPU (seconds).
const minAge = 0.002

// sessionUsage turns one raw session sample into rates against the last one.
// A process seen for the first time is charged its lifetime average.
func (m *Monitor) sessionUsage(w *watched, raw sensor.Session) SessionUsage {
	u := SessionUsage{Session: raw.ID, Time: raw.Time, DiskBytes: raw.DiskBytes, SLA: w.sla,
		NetRxBytes: raw.NetRxBytes, NetTxBytes: raw.NetTxBytes, NetMethod: raw.NetMethod, NetNote: raw.NetNote,
		MemBytes: raw.Cgroup.MemoryBytes, OOMKills: raw.Cgroup.OOMKills, PidsLimitHits: raw.Cgroup.PidsLimitHits}
	if !w.sla.Start.IsZero() {
		u.Elapsed = raw.Time.Sub(w.sla.Start)
	}
	prev := w.prev
	dt := 0.0
	if prev != nil {
		dt = raw.Time.Sub(prev.time).Seconds()
	}
	next := &rawPrev{time: raw.Time, procs: make(map[int]procPrev, len(raw.Procs)), cgCPU: raw.Cgroup.CPUNanos, net: raw.NetRxBytes + raw.NetTxBytes}
	apps := map[string]*AppUsage{}
	var procSum float64
	var rss uint64
	u.Procs = make([]ProcUsage, 0, len(raw.Procs))
	for _, p := range raw.Procs {
		cpu, rd, wr := m.procRates(prev, dt, p, raw)
		next.procs[p.PID] = procPrev{start: p.StartTicks, cpu: p.CPUSeconds, rd: p.ReadBytes, wr: p.WriteBytes}
		procSum += cpu
		rss += p.RSSBytes
		u.Threads += p.Threads
		u.Procs = append(u.Procs, ProcUsage{PID: p.PID, App: p.App, Nice: p.Nice, CPUPercent: cpu, RSSBytes: p.RSSBytes, Threads: p.Threads})
		a := apps[p.App]
		if a == nil {
			a = &AppUsage{App: p.App}
			apps[p.App] = a
		}
		a.Procs++
		a.CPUPercent += cpu
		a.RSSBytes += p.RSSBytes
		a.ReadBps += rd
		a.WriteBps += wr
		a.Sockets += p.Sockets
	}
	u.Processes = len(raw.Procs)
	u.CPUPercent = procSum
	if prev != nil && dt > 0 && raw.Cgroup.CPUNanos >= prev.cgCPU && prev.cgCPU > 0 {
		// The cgroup also counts processes that ended within the interval.
		u.CPUPercent = float64(raw.Cgroup.CPUNanos-prev.cgCPU) / 1e9 / dt * 100
	}
	if u.MemBytes == 0 {
		u.MemBytes = rss
	}
	if prev != nil && dt > 0 && next.net >= prev.net {
		u.BandwidthKbps = float64(next.net-prev.net) * 8 / 1000 / dt
	}
	for _, a := range apps {
		u.Apps = append(u.Apps, *a)
	}
	sort.Slice(u.Apps, func(i, j int) bool { return u.Apps[i].App < u.Apps[j].App })
	w.prev = next
	return u
}

func (m *Monitor) procRates(prev *rawPrev, dt float64, p sensor.Proc, raw sensor.Session) (cpu, rd, wr float64) {
	if prev != nil && dt > 0 {
		if pp, ok := prev.procs[p.PID]; ok && pp.start == p.StartTicks {
			cpu = (p.CPUSeconds - pp.cpu) / dt * 100
			rd = float64(p.ReadBytes-min(pp.rd, p.ReadBytes)) / dt
			wr = float64(p.WriteBytes-min(pp.wr, p.WriteBytes)) / dt
			return max(cpu, 0), rd, wr
		}
	}
	if m.uptime > 0 {
		// The start time is truncated to a 10 ms tick: the process is on
		// average half a tick younger than the tick says. The CPU time is
		// the process CPU clock's (ns), so a few milliseconds of life are
		// enough to measure; younger than minAge it is not charged yet.
		age := m.uptime - (float64(p.StartTicks)+0.5)/userHZ
		if age >= minAge {
			// The age is an estimate to ±5 ms: never more than every
			// thread busy all along.
			cpu = min(p.CPUSeconds/age*100, float64(max(p.Threads, 1))*100)
		}
	}
	return cpu, 0, 0
}

func (m *Monitor) nodeUsage(n sensor.Node, sessions int) NodeUsage {
	u := NodeUsage{Node: m.cfg.Node, Cluster: m.cfg.Cluster, Time: n.Time, Cores: n.Cores, Load1: n.Load1,
		MemTotalBytes: n.MemTotalBytes, DiskFreeBytes: n.DiskFreeBytes, Sessions: sessions}
	if n.MemTotalBytes >= n.MemAvailBytes {
		u.MemUsedBytes = n.MemTotalBytes - n.MemAvailBytes
	}
	m.mu.Lock()
	p := m.prevNode
	m.prevNode = &n
	m.mu.Unlock()
	if p != nil {
		if dt := n.CPUTotalSeconds - p.CPUTotalSeconds; dt > 0 {
			u.CPUPercent = (n.CPUBusySeconds - p.CPUBusySeconds) / dt * 100
		}
		if secs := n.Time.Sub(p.Time).Seconds(); secs > 0 && n.NetRxBytes+n.NetTxBytes >= p.NetRxBytes+p.NetTxBytes {
			u.NetKbps = float64(n.NetRxBytes+n.NetTxBytes-p.NetRxBytes-p.NetTxBytes) * 8 / 1000 / secs
		}
	}
	return u
}
