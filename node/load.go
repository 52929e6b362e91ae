package node

import (
	"sync"

	"github.com/igrid/igrid/internal/proto"
	"github.com/prometheus/procfs"
)

// loadSampler measures the node's dynamic load; CPU % is the busy share of
// all CPUs between two samples (since boot for the first).
type loadSampler struct {
	fs       procfs.FS
	homeRoot string

	mu                sync.Mutex
	prevBusy, prevAll float64
}

// sample reads the load now. Errors leave fields at zero: a heartbeat with a
// partial load is better than none.
func (l *loadSampler) sample(sessions int) proto.Load {
	ld := proto.Load{Sessions: sessions}
	if st, err := l.fs.Stat(); err == nil {
		ld.CPUPercent = l.cpuPercent(st.CPUTotal)
	}
	if avg, err := l.fs.LoadAvg(); err == nil {
		ld.Load1 = avg.Load1
	}
	if mem, err := l.fs.Meminfo(); err == nil && mem.MemTotal != nil && mem.MemAvailable != nil {
		ld.MemUsedMB = int((*mem.MemTotal - min(*mem.MemAvailable, *mem.MemTotal)) / 1024)
	}
	if _, free, err := diskMB(l.homeRoot); err == nil {
		ld.DiskFreeMB = free
	}
	return ld
}

func (l *loadSampler) cpuPercent(c procfs.CPUStat) float64 {
	idle := c.Idle + c.Iowait
	all := c.User + c.Nice + c.System + c.IRQ + c.SoftIRQ + c.Steal + idle
	busy := all - idle
	l.mu.Lock()
	defer l.mu.Unlock()
	dAll, dBusy := all-l.prevAll, busy-l.prevBusy
	l.prevAll, l.prevBusy = all, busy
	if dAll <= 0 {
		return 0
	}
	return max(0, min(100, 100*dBusy/dAll))
}
