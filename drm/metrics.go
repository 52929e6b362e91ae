package drm

import (
	"context"
	"log/slog"
	"time"

	"github.com/igrid/igrid/drm/store"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics holds the DRM's Prometheus registry and instruments.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
}

func newMetrics(st store.Store, reg *Registry, log *slog.Logger) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "igrid_drm_http_requests_total",
			Help: "HTTP requests served, by route pattern and status code.",
		}, []string{"route", "code"}),
	}
	m.reg.MustRegister(m.requests,
		&sessionsCollector{store: st, log: log, desc: prometheus.NewDesc("igrid_drm_sessions",
			"Sessions in each state.", []string{"state"}, nil)},
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "igrid_drm_nodes_online",
			Help: "Nodes whose last heartbeat is recent enough.",
		}, func() float64 { return float64(reg.OnlineCount(time.Now().UTC())) }),
		collectors.NewGoCollector(),
	)
	return m
}

// sessionsCollector reads the per-state session counts at scrape time.
type sessionsCollector struct {
	store store.Store
	log   *slog.Logger
	desc  *prometheus.Desc
}

func (c *sessionsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *sessionsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.store.CountSessions(ctx)
	if err != nil {
		c.log.Error("metrics: count sessions", "err", err)
		return
	}
	for _, st := range store.AllStates {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[st]), string(st))
	}
}
