package gmma_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/igrid/igrid/gmma"
)

func TestMetricsExposeUsageVsLimitAndActions(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := gmma.NewMetrics(reg)
	m.Observe(gmma.Sample{Took: time.Millisecond, Sessions: []gmma.SessionUsage{{
		Session: "s-1", CPUPercent: 42, Processes: 3, SLA: gmma.SLA{CPUPercent: 50, MaxProcesses: 10}}}})
	m.Acted(gmma.AuditEvent{Action: gmma.ActionReniceDown, Parameter: "cpu_percent"})
	srv := httptest.NewServer(gmma.Handler(reg))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`igrid_gmma_session_usage{parameter="cpu_percent",session="s-1"} 42`,
		`igrid_gmma_session_limit{parameter="cpu_percent",session="s-1"} 50`,
		`igrid_gmma_session_usage{parameter="processes",session="s-1"} 3`,
		`igrid_gmma_enforcement_actions_total{action="renice_down",parameter="cpu_percent"} 1`,
		`igrid_gmma_samples_total 1`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	m.Forget("s-1")
	resp, _ = srv.Client().Get(srv.URL)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(b), `session="s-1"`) {
		t.Error("series of an ended session remain")
	}
}
