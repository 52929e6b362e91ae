package sac_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/igrid/igrid/sac"
)

// staticState is a fixed table: the unit tests check the pure algorithm.
type staticState map[string]struct {
	lim sac.Limits
	cur sac.Current
}

func (s staticState) Session(id string) (sac.Limits, sac.Current, error) {
	v, ok := s[id]
	if !ok {
		return sac.Limits{}, sac.Current{}, sac.ErrUnknownSession
	}
	return v.lim, v.cur, nil
}

type profiles map[string]sac.Profile

func (p profiles) Profile(app string) (sac.Profile, bool) { v, ok := p[app]; return v, ok }

var limits = sac.Limits{MaxProcesses: 10, UsageTime: time.Hour, DiskMB: 100, CPUPercent: 150, BandwidthKbps: 1000}

func TestDecide(t *testing.T) {
	prof := profiles{
		"python3": {CPUPercent: 80, BandwidthKbps: 10},
		"wget":    {CPUPercent: 5, BandwidthKbps: 600},
		"make":    {Processes: 4, CPUPercent: 20},
		"cp":      {DiskMB: 60},
		"long":    {Runtime: 50 * time.Minute},
	}
	cases := []struct {
		name, app string
		cur       sac.Current
		allow     bool
		param     string
		over      float64
	}{
		{"idle session admits python", "python3", sac.Current{Processes: 1, CPUPercent: 5}, true, "", 0},
		{"cpu would pass the limit", "/usr/bin/python3", sac.Current{Processes: 2, CPUPercent: 100}, false, sac.ParamCPU, 30},
		{"cpu exactly at the limit is fine", "python3", sac.Current{Processes: 2, CPUPercent: 70}, true, "", 0},
		{"processes", "make", sac.Current{Processes: 8}, false, sac.ParamProcesses, 2},
		{"disk", "cp", sac.Current{DiskMB: 50}, false, sac.ParamDisk, 10},
		{"bandwidth", "wget", sac.Current{BandwidthKbps: 500}, false, sac.ParamBandwidth, 100},
		{"usage time over", "vim", sac.Current{Elapsed: 61 * time.Minute}, false, sac.ParamUsageTime, 60},
		{"expected run time passes the end", "long", sac.Current{Elapsed: 20 * time.Minute}, false, sac.ParamUsageTime, 600},
		{"unknown app gets the default profile", "vim", sac.Current{CPUPercent: 145}, false, sac.ParamCPU, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctl, err := sac.New(sac.Config{
				State:    staticState{"s-1": {limits, c.cur}},
				Profiles: prof,
				Default:  sac.Profile{CPUPercent: 10},
			})
			if err != nil {
				t.Fatal(err)
			}
			d := ctl.Decide("s-1", sac.Request{App: c.app})
			if d.Allow != c.allow || d.Parameter != c.param || d.Over != c.over {
				t.Fatalf("Decide = %+v; want allow=%v param=%q over=%v", d, c.allow, c.param, c.over)
			}
			if !c.allow && (d.Reason == "" || !strings.Contains(d.Message, c.param)) {
				t.Fatalf("a deny must name the parameter and a reason: %+v", d)
			}
		})
	}
}

func TestDecideWithoutStateOrByPolicy(t *testing.T) {
	ctl, _ := sac.New(sac.Config{State: staticState{}, Policy: func(_, app string, _ []string) string {
		if app == "nc" {
			return "network tools are not allowed for class finance"
		}
		return ""
	}})
	if d := ctl.Decide("nope", sac.Request{App: "vim"}); d.Allow || d.Reason != sac.ReasonNoState {
		t.Fatalf("unknown session: %+v", d)
	}
	if d := ctl.Decide("nope", sac.Request{App: "nc"}); d.Allow || d.Reason != sac.ReasonPolicy {
		t.Fatalf("policy: %+v", d)
	}
	if _, err := sac.New(sac.Config{}); !errors.Is(err, sac.ErrNoConfig) {
		t.Fatalf("New without State = %v", err)
	}
}
