package gmma

import (
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics exports GMMA on /metrics: per-session usage beside its limit,
// enforcement actions, and the agent's own cost.
type Metrics struct {
	usage, limit  *prometheus.GaugeVec
	actions       *prometheus.CounterVec
	samples       prometheus.Counter
	sampleSeconds prometheus.Histogram
	nodeCPU       prometheus.Gauge

	mu   sync.Mutex
	seen map[string]bool
}

// NewMetrics registers the collectors on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		usage: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "igrid_gmma_session_usage",
			Help: "Session usage by parameter (cpu_percent, processes, disk_mb, bandwidth_kbps, memory_mb, elapsed_seconds)."},
			[]string{"session", "parameter"}),
		limit: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "igrid_gmma_session_limit",
			Help: "Session SLA limit by parameter (0 = unlimited)."}, []string{"session", "parameter"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "igrid_gmma_enforcement_actions_total",
			Help: "Enforcement actions taken, by action and parameter."}, []string{"action", "parameter"}),
		samples: prometheus.NewCounter(prometheus.CounterOpts{Name: "igrid_gmma_samples_total", Help: "Samples taken."}),
		sampleSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "igrid_gmma_sample_duration_seconds",
			Help: "Time the sensors took per sample.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14)}),
		nodeCPU: prometheus.NewGauge(prometheus.GaugeOpts{Name: "igrid_gmma_node_cpu_percent", Help: "Node CPU busy percent."}),
		seen:    map[string]bool{},
	}
	reg.MustRegister(m.usage, m.limit, m.actions, m.samples, m.sampleSeconds, m.nodeCPU)
	return m
}

// Observe is the Monitor consumer.
func (m *Metrics) Observe(s Sample) {
	m.samples.Inc()
	m.sampleSeconds.Observe(s.Took.Seconds())
	m.nodeCPU.Set(s.Node.CPUPercent)
	for _, u := range s.Sessions {
		set := func(p string, v, lim float64) {
			m.usage.WithLabelValues(u.Session, p).Set(v)
			m.limit.WithLabelValues(u.Session, p).Set(lim)
		}
		set("cpu_percent", u.CPUPercent, float64(u.SLA.CPUPercent))
		set("processes", float64(u.Processes), float64(u.SLA.MaxProcesses))
		set("disk_mb", float64(u.DiskBytes)/(1<<20), float64(u.SLA.DiskMB))
		set("bandwidth_kbps", u.BandwidthKbps, float64(u.SLA.BandwidthKbps))
		set("memory_mb", float64(u.MemBytes)/(1<<20), float64(u.SLA.MemoryMB))
		set("elapsed_seconds", u.Elapsed.Seconds(), u.SLA.UsageTime.Seconds())
		m.mu.Lock()
		m.seen[u.Session] = true
		m.mu.Unlock()
	}
}

// Acted counts an enforcement action (EnforcerConfig.OnAct).
func (m *Metrics) Acted(ev AuditEvent) {
	m.actions.WithLabelValues(string(ev.Action), ev.Parameter).Inc()
}

// Forget drops an ended session's series.
func (m *Metrics) Forget(session string) {
	m.usage.DeletePartialMatch(prometheus.Labels{"session": session})
	m.limit.DeletePartialMatch(prometheus.Labels{"session": session})
	m.mu.Lock()
	delete(m.seen, session)
	m.mu.Unlock()
}

// Handler serves reg in the Prometheus text format.
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
