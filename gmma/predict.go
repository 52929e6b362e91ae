package gmma

import (
	"fmt"
	"math"
	"sort"
	"sync"

	"github.com/igrid/igrid/sac"
)

// PredictorConfig configures the application predictor.
type PredictorConfig struct {
	// Window is how many observations per application are kept (default 600).
	Window int
	// Percentile of the window that becomes the profile (default 95).
	Percentile float64
	// MaxChange is the policy's limit on how fast a profile may move: at most
	// this fraction of its value per Update (0.2 = ±20%); 0 means no limit.
	MaxChange float64
	// MinSamples before an application gets a profile (default 10).
	MinSamples int
	// Write receives every changed profile (the DRM's profile store).
	Write func(sac.Profile) error
}

// Predictor turns per-application history into profiles: a high percentile
// of CPU and bandwidth per instance over a sliding window, moved towards the
// new estimate no faster than the policy allows. It implements sac.Profiles.
type Predictor struct {
	cfg PredictorConfig

	mu       sync.Mutex
	cpu, bw  map[string]*Window
	profiles map[string]sac.Profile
}

var _ sac.Profiles = (*Predictor)(nil)

// NewPredictor returns a predictor.
func NewPredictor(cfg PredictorConfig) *Predictor {
	if cfg.Window <= 0 {
		cfg.Window = 600
	}
	if cfg.Percentile <= 0 || cfg.Percentile > 100 {
		cfg.Percentile = 95
	}
	if cfg.MinSamples <= 0 {
		cfg.MinSamples = 10
	}
	return &Predictor{cfg: cfg, cpu: map[string]*Window{}, bw: map[string]*Window{}, profiles: map[string]sac.Profile{}}
}

// Seed installs known profiles (from the DRM at start).
func (p *Predictor) Seed(ps []sac.Profile) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pr := range ps {
		p.profiles[pr.App] = pr
	}
}

// Add records one observation of one instance of app.
func (p *Predictor) Add(app string, cpuPercent, bandwidthKbps float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cpu[app] == nil {
		p.cpu[app], p.bw[app] = NewWindow(p.cfg.Window), NewWindow(p.cfg.Window)
	}
	p.cpu[app].Add(cpuPercent)
	p.bw[app].Add(bandwidthKbps)
}

// Observe is the Monitor consumer: each application's CPU per process and
// its part of the session's bandwidth (by sockets).
func (p *Predictor) Observe(s Sample) {
	for _, u := range s.Sessions {
		socks := 0
		for _, a := range u.Apps {
			socks += a.Sockets
		}
		for _, a := range u.Apps {
			bw := 0.0
			if socks > 0 {
				bw = u.BandwidthKbps * float64(a.Sockets) / float64(socks) / float64(max(a.Procs, 1))
			}
			p.Add(a.App, a.CPUPercent/float64(max(a.Procs, 1)), bw)
		}
	}
}

// ObserveGrid records the top of the hierarchy's application summaries
// (GridView.Apps): each reporter's p95 becomes one observation, so a DRM-side
// predictor learns from every node without their raw samples.
func (p *Predictor) ObserveGrid(apps []AppSummary) {
	for _, a := range apps {
		if a.CPUPercent.N > 0 {
			p.Add(a.App, a.CPUP95, a.BwP95)
		}
	}
}

// Update recomputes every profile, writes the changed ones through the hook
// and returns them.
func (p *Predictor) Update() ([]sac.Profile, error) {
	p.mu.Lock()
	var changed []sac.Profile
	for app, w := range p.cpu {
		if w.Len() < p.cfg.MinSamples {
			continue
		}
		old, had := p.profiles[app]
		next := old
		next.App = app
		next.CPUPercent = p.step(old.CPUPercent, w.Percentile(p.cfg.Percentile), had)
		next.BandwidthKbps = p.step(old.BandwidthKbps, p.bw[app].Percentile(p.cfg.Percentile), had)
		if !had || next != old {
			p.profiles[app] = next
			changed = append(changed, next)
		}
	}
	p.mu.Unlock()
	sort.Slice(changed, func(i, j int) bool { return changed[i].App < changed[j].App })
	if p.cfg.Write != nil {
		for _, pr := range changed {
			if err := p.cfg.Write(pr); err != nil {
				return changed, fmt.Errorf("gmma predictor: write profile %s: %w", pr.App, err)
			}
		}
	}
	return changed, nil
}

// step moves old towards target by at most MaxChange of old (at least one
// point, so a profile at zero can still grow).
func (p *Predictor) step(old, target float64, had bool) float64 {
	target = round2(target)
	if !had || p.cfg.MaxChange <= 0 {
		return target
	}
	limit := math.Max(math.Abs(old)*p.cfg.MaxChange, 1)
	d := math.Max(-limit, math.Min(limit, target-old))
	return round2(old + d)
}

// Profile implements sac.Profiles.
func (p *Predictor) Profile(app string) (sac.Profile, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pr, ok := p.profiles[app]
	return pr, ok
}
