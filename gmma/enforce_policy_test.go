package gmma_test

import (
	"sync"
	"testing"
	"time"

	"github.com/igrid/igrid/gmma"
)

// TestEnforcerCPUActions checks the CPU rule per policy action on synthetic
// samples (pure logic: the hooks record instead of acting).
func TestEnforcerCPUActions(t *testing.T) {
	cases := []struct {
		action gmma.Action
		want   []gmma.Action // in order, over four samples 1 s apart of an app at 90% with share 20%
		ended  bool
	}{
		// The fake kill leaves the app running: the next sample starts over.
		{gmma.ActionKill, []gmma.Action{gmma.ActionReniceDown, gmma.ActionReniceDown, gmma.ActionKill, gmma.ActionReniceDown}, false},
		{"renice", []gmma.Action{gmma.ActionReniceDown, gmma.ActionReniceDown, gmma.ActionReniceDown, gmma.ActionReniceDown}, false},
		{gmma.ActionWarn, []gmma.Action{gmma.ActionWarn}, false},
		{gmma.ActionEnd, []gmma.Action{gmma.ActionWarn, gmma.ActionEnd}, true}, // warnings rate-limited
		{"none", nil, false},
	}
	for _, c := range cases {
		t.Run(string(c.action), func(t *testing.T) {
			var mu sync.Mutex
			var got []gmma.Action
			ended := false
			nice := map[int]int{}
			enf, err := gmma.NewEnforcer(gmma.EnforcerConfig{Node: "n",
				OnAct: func(ev gmma.AuditEvent) { mu.Lock(); got = append(got, ev.Action); mu.Unlock() },
				Hooks: gmma.Hooks{
					Renice:     func(pid, n int) error { nice[pid] = n; return nil },
					Kill:       func([]int) error { return nil },
					EndSession: func(string, string) { ended = true },
				}})
			if err != nil {
				t.Fatal(err)
			}
			enf.SetPolicy("s", gmma.EnforcePolicy{CPUAction: c.action, KillGrace: 2 * time.Second, WarnEvery: time.Hour, ReniceStep: 1})
			t0 := time.Now()
			for i := 0; i < 4; i++ {
				enf.Observe(gmma.Sample{Sessions: []gmma.SessionUsage{{
					Session: "s", Time: t0.Add(time.Duration(i) * time.Second), CPUPercent: 90,
					Apps:  []gmma.AppUsage{{App: "hog", Procs: 1, CPUPercent: 90}},
					Procs: []gmma.ProcUsage{{PID: 7, App: "hog", Nice: nice[7], CPUPercent: 90}},
					SLA:   gmma.SLA{CPUPercent: 20},
				}}})
			}
			if len(got) != len(c.want) {
				t.Fatalf("actions %v, want %v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("actions %v, want %v", got, c.want)
				}
			}
			if ended != c.ended {
				t.Fatalf("ended = %v, want %v", ended, c.ended)
			}
		})
	}
}
