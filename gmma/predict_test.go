package gmma_test

import (
	"testing"

	"github.com/igrid/igrid/gmma"
	"github.com/igrid/igrid/sac"
)

func TestPredictorPercentileAndMaxChange(t *testing.T) {
	var written []sac.Profile
	p := gmma.NewPredictor(gmma.PredictorConfig{Window: 100, MinSamples: 10, MaxChange: 0.2,
		Write: func(pr sac.Profile) error { written = append(written, pr); return nil }})
	for i := 1; i <= 100; i++ { // CPU 1..100: p95 = 95
		p.Add("python3", float64(i), 10)
	}
	p.Add("vim", 1, 0) // too few samples for a profile
	ch, err := p.Update()
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != 1 || ch[0].App != "python3" || ch[0].CPUPercent != 95 || ch[0].BandwidthKbps != 10 {
		t.Fatalf("first profiles = %+v", ch)
	}
	if _, ok := p.Profile("vim"); ok {
		t.Fatal("vim has a profile after one sample")
	}
	// The application becomes light: the profile may fall only 20% per update.
	for i := 0; i < 100; i++ {
		p.Add("python3", 5, 10)
	}
	steps := []float64{76, 60.8, 48.64}
	for i, want := range steps {
		if _, err := p.Update(); err != nil {
			t.Fatal(err)
		}
		got, _ := p.Profile("python3")
		if got.CPUPercent != want {
			t.Fatalf("update %d: cpu profile = %v, want %v (±20%% per update)", i+1, got.CPUPercent, want)
		}
	}
	if len(written) != 1+len(steps) {
		t.Fatalf("hook got %d writes, want %d", len(written), 1+len(steps))
	}
}

func TestWindowPercentile(t *testing.T) {
	w := gmma.NewWindow(4)
	for _, v := range []float64{10, 20, 30, 40, 50} { // 10 drops out
		w.Add(v)
	}
	cases := []struct{ p, want float64 }{{50, 30}, {95, 50}, {100, 50}, {1, 20}}
	for _, c := range cases {
		if got := w.Percentile(c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
}

func TestPredictorFromGridSummaries(t *testing.T) {
	p := gmma.NewPredictor(gmma.PredictorConfig{MinSamples: 3})
	for i := 0; i < 3; i++ {
		p.ObserveGrid([]gmma.AppSummary{{App: "make", CPUPercent: gmma.Stat{N: 5}, CPUP95: 60, BwP95: 2}, {App: "idle"}})
	}
	if _, err := p.Update(); err != nil {
		t.Fatal(err)
	}
	if pr, ok := p.Profile("make"); !ok || pr.CPUPercent != 60 || pr.BandwidthKbps != 2 {
		t.Fatalf("make profile = %+v, %v", pr, ok)
	}
	if _, ok := p.Profile("idle"); ok {
		t.Fatal("an application with no samples got a profile")
	}
}
