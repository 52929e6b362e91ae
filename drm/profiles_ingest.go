package drm

import (
	"context"
	"encoding/json"
	"time"

	"github.com/igrid/igrid/internal/bus"
	"github.com/nats-io/nats.go"
)

// measuredProfile is what node predictors publish on bus.ProfileSubject
// (the JSON of sac.Profile; only the fields the DRM keeps).
type measuredProfile struct {
	App           string  `json:"app"`
	CPUPercent    float64 `json:"cpu_percent"`
	BandwidthKbps float64 `json:"bandwidth_kbps"`
}

// subscribeProfiles folds every measured profile the nodes' predictors
// publish into the store's application profiles (weighted, see
// store.ProfileAlpha), so admission and the scheduler learn from use.
func (s *Server) subscribeProfiles(nc *nats.Conn) (*nats.Subscription, error) {
	return nc.Subscribe(bus.ProfileSubject, func(m *nats.Msg) {
		var p measuredProfile
		if err := json.Unmarshal(m.Data, &p); err != nil || p.App == "" || p.CPUPercent < 0 || p.BandwidthKbps < 0 {
			s.log.Warn("bad profile from a node", "data", string(m.Data), "err", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := s.store.ObserveProfile(ctx, p.App, p.CPUPercent, p.BandwidthKbps, time.Now().UTC()); err != nil {
			s.log.Error("observe profile", "app", p.App, "err", err)
		}
	})
}
