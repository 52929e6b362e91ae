package gmma

import (
	"fmt"
	"time"

	"github.com/igrid/igrid/sac"
)

// SACState lets SAC read a session's SLA and current aggregate from the
// monitoring agent.
type SACState struct{ M *Monitor }

var _ sac.State = SACState{}

// Session implements sac.State.
func (s SACState) Session(id string) (sac.Limits, sac.Current, error) {
	u, sla, ok := s.M.Latest(id)
	if !ok {
		return sac.Limits{}, sac.Current{}, fmt.Errorf("%w: %s", sac.ErrUnknownSession, id)
	}
	lim := sac.Limits{MaxProcesses: sla.MaxProcesses, UsageTime: sla.UsageTime, DiskMB: float64(sla.DiskMB),
		CPUPercent: float64(sla.CPUPercent), BandwidthKbps: float64(sla.BandwidthKbps)}
	cur := sac.Current{Processes: u.Processes, DiskMB: float64(u.DiskBytes) / (1 << 20),
		CPUPercent: u.CPUPercent, BandwidthKbps: u.BandwidthKbps}
	if !sla.Start.IsZero() {
		cur.Elapsed = time.Since(sla.Start)
	}
	return lim, cur, nil
}
