package store

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/igrid/igrid/internal/proto"
)

// ErrBadObservation means a measured usage cannot update a profile.
var ErrBadObservation = errors.New("bad profile observation")

func checkObservation(app string, cpu, bw float64) error {
	if !proto.ValidName(app) {
		return fmt.Errorf("%w: %q is not an application name", ErrBadObservation, app)
	}
	for _, v := range []struct {
		name string
		v    float64
	}{{"cpu_percent", cpu}, {"bandwidth_kbps", bw}} {
		if math.IsNaN(v.v) || math.IsInf(v.v, 0) || v.v < 0 {
			return fmt.Errorf("%w: %s %v is not a non-negative number", ErrBadObservation, v.name, v.v)
		}
	}
	return nil
}

// fold is one exponentially weighted step; the first sample replaces a
// seeded estimate only by the weight ProfileAlpha, like any other.
func fold(p Profile, cpu, bw float64, at time.Time) Profile {
	if p.Samples == 0 && p.CPUPercent == 0 && p.BandwidthKbps == 0 {
		p.CPUPercent, p.BandwidthKbps = cpu, bw
	} else {
		p.CPUPercent = (1-ProfileAlpha)*p.CPUPercent + ProfileAlpha*cpu
		p.BandwidthKbps = (1-ProfileAlpha)*p.BandwidthKbps + ProfileAlpha*bw
	}
	p.Samples++
	p.Updated = at.UTC()
	return p
}
