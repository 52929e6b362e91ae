package drm

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/igrid/igrid/drm/store"
	"github.com/igrid/igrid/internal/proto"
)

func view(name string, cores, mem int, mut ...func(*NodeView)) NodeView {
	n := NodeView{NodeStatus: &proto.NodeStatus{Online: true, NodeInfo: proto.NodeInfo{
		Name: name, OS: proto.OS{Name: "linux", Vendor: "debian", Version: "12"},
		CPU: proto.CPU{Type: "x86_64", Cores: cores, ClockMHz: 2000}, MemoryMB: mem, SwapMB: 512, DiskMB: 1000,
		Applications: []string{"vim", "python3"}}}}
	for _, m := range mut {
		m(&n)
	}
	return n
}

func TestStaticMatcher(t *testing.T) {
	cases := []struct {
		name string
		tpl  string
		node NodeView
		want string // "" fits, else the reason's prefix
	}{
		{"fits", `{"usage_time":"1m","memory_mb":512,"cpu":{"cores":2}}`, view("a", 2, 1024), ""},
		{"offline", `{"usage_time":"1m"}`, view("a", 2, 1024, func(n *NodeView) { n.Online = false }), ReasonOffline},
		{"other node named", `{"usage_time":"1m","node":"b"}`, view("a", 2, 1024), ReasonNotRequested + " (b)"},
		{"named node", `{"usage_time":"1m","node":"a"}`, view("a", 2, 1024), ""},
		{"cores", `{"usage_time":"1m","cpu":{"cores":4}}`, view("a", 2, 1024), "cores 4 > node's 2"},
		{"memory", `{"usage_time":"1m","memory_mb":2048}`, view("a", 2, 1024), "memory 2048 MB > node's 1024 MB"},
		{"swap", `{"usage_time":"1m","swap_mb":1024}`, view("a", 2, 1024), "swap 1024 MB > node's 512 MB"},
		{"disk", `{"usage_time":"1m","disk_mb":2000}`, view("a", 2, 1024), "disk 2000 MB > node's 1000 MB"},
		{"free disk counts", `{"usage_time":"1m","disk_mb":600}`, view("a", 2, 1024, func(n *NodeView) { n.Load.DiskFreeMB = 500 }), "disk 600 MB > node's 500 MB"},
		{"os name", `{"usage_time":"1m","os":{"name":"windows"}}`, view("a", 2, 1024), `os name "windows"`},
		{"os vendor case", `{"usage_time":"1m","os":{"vendor":"Debian","version":"12"}}`, view("a", 2, 1024), ""},
		{"os version", `{"usage_time":"1m","os":{"version":"11"}}`, view("a", 2, 1024), `os version "11"`},
		{"cpu type", `{"usage_time":"1m","cpu":{"type":"arm64"}}`, view("a", 2, 1024), `cpu type "arm64"`},
		{"cpu clock", `{"usage_time":"1m","cpu":{"clock_mhz":3000}}`, view("a", 2, 1024), "cpu clock 3000 MHz"},
		{"applications subset", `{"usage_time":"1m","applications":["vim"]}`, view("a", 2, 1024), ""},
		{"applications missing", `{"usage_time":"1m","applications":["vim","matlab","gcc"]}`, view("a", 2, 1024), "applications not installed: matlab, gcc"},
		{"trust default standard fits standard", `{"usage_time":"1m","security":{"trust_level":"standard"}}`, view("a", 2, 1024), ""},
		{"trust high on a standard node", `{"usage_time":"1m","security":{"trust_level":"high"}}`, view("a", 2, 1024), `trust level: node's "standard" < asked "high"`},
		{"trust high node", `{"usage_time":"1m","security":{"trust_level":"high"}}`, view("a", 2, 1024, func(n *NodeView) { n.TrustLevel = "high" }), ""},
		{"trust unknown level", `{"usage_time":"1m","security":{"trust_level":"secret"}}`, view("a", 2, 1024), `trust level "secret" is not one of low, standard, high`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tp := tpl(c.tpl)
			got := StaticMatcher{}.Match(&tp, c.node)
			if (c.want == "") != (got == "") || !strings.HasPrefix(got, c.want) {
				t.Fatalf("Match = %q, want prefix %q", got, c.want)
			}
		})
	}
}

func TestCapacityAdmitter(t *testing.T) {
	c := store.Candidate{Node: "a", Capacity: store.Capacity{Cores: 4, MemoryMB: 1024, BandwidthKbps: 1000, Sessions: 2}}
	cases := []struct {
		name             string
		reserved, demand store.Capacity
		want             string
	}{
		{"empty", store.Capacity{}, store.Capacity{Cores: 4, MemoryMB: 1024}, ""},
		{"exact fit", store.Capacity{Cores: 3, MemoryMB: 512}, store.Capacity{Cores: 1, MemoryMB: 512}, ""},
		{"cores", store.Capacity{Cores: 4}, store.Capacity{Cores: 1}, "cores 1 > free 0"},
		{"memory", store.Capacity{Cores: 1, MemoryMB: 768}, store.Capacity{Cores: 1, MemoryMB: 512}, "memory 512 MB > free 256 MB"},
		{"over-committed shows zero", store.Capacity{Cores: 6}, store.Capacity{Cores: 1}, "cores 1 > free 0"},
		{"cpu percent", store.Capacity{Cores: 1, CPUPercent: 350}, store.Capacity{Cores: 1, CPUPercent: 100}, "cpu 100% > free 50%"},
		{"bandwidth", store.Capacity{BandwidthKbps: 900}, store.Capacity{Cores: 1, BandwidthKbps: 200}, "bandwidth 200 kbps > free 100 kbps"},
		{"slots", store.Capacity{Sessions: 2}, store.Capacity{Cores: 1, Sessions: 1}, "session slots: all 2 taken"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := (CapacityAdmitter{}).Admit(c, tc.reserved, tc.demand); got != tc.want {
				t.Fatalf("Admit = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLeastLoaded(t *testing.T) {
	nodes := []NodeView{
		view("c", 4, 1024, func(n *NodeView) { n.Reserved.Cores = 2 }), // 0.5
		view("b", 2, 1024, func(n *NodeView) { n.Load.Load1 = 0.9 }),   // 0, busier
		view("a", 2, 1024, func(n *NodeView) { n.Load.Load1 = 0.9 }),   // 0, same load: by name
		view("d", 8, 1024, func(n *NodeView) { n.Load.Load1 = 0.1 }),   // 0, idle
		view("e", 4, 1024, func(n *NodeView) { n.Reserved.Cores = 1 }), // 0.25
		view("f", 0, 1024), // no cores: last
	}
	var got []string
	for _, n := range (Ranker{Policy: LeastLoaded{}, Weights: DefaultWeights()}).Rank(nodes, store.Capacity{}, UserHistory{}) {
		got = append(got, n.Name)
	}
	if want := "d,a,b,e,c,f"; strings.Join(got, ",") != want {
		t.Fatalf("Rank = %v, want %s", got, want)
	}
	if nodes[0].Name != "c" {
		t.Fatal("Rank modified its input")
	}
}

func TestPlan(t *testing.T) {
	sc := NewScheduler(nil, nil)
	sc.Rank = Ranker{Policy: LeastLoaded{}, Weights: DefaultWeights()}
	snap := Snapshot{Nodes: []NodeView{
		view("a", 2, 1024, func(n *NodeView) { n.Reserved = store.Capacity{Cores: 2} }),
		view("b", 4, 1024, func(n *NodeView) { n.Reserved = store.Capacity{Cores: 2} }),
		view("c", 4, 1024),
		view("d", 4, 1024, func(n *NodeView) { n.Online = false }),
	}}
	tp := tpl(`{"usage_time":"1m","cpu":{"cores":1}}`)
	cands, rej := sc.Plan(&tp, snap)
	if len(cands) != 2 || cands[0].Node != "c" || cands[1].Node != "b" || cands[0].Capacity.Cores != 4 {
		t.Fatalf("candidates %+v", cands)
	}
	if len(rej) != 2 || rej[0].String() != "a: cores 1 > free 0" || rej[1].String() != "d: offline" {
		t.Fatalf("rejections %v", rej)
	}
}

func TestRegistryOnline(t *testing.T) {
	r := NewRegistry(nil, time.Second, slog.Default())
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	r.record(proto.Heartbeat{Node: proto.NodeInfo{Name: "own"}, Interval: proto.Duration(100 * time.Millisecond)}, t0)
	r.record(proto.Heartbeat{Node: proto.NodeInfo{Name: "dflt"}}, t0)
	cases := []struct {
		node  string
		after time.Duration
		want  bool
	}{
		{"own", 300 * time.Millisecond, true},
		{"own", 301 * time.Millisecond, false},
		{"dflt", 3 * time.Second, true},
		{"dflt", 3*time.Second + 1, false},
		{"unknown", 0, false},
	}
	for _, c := range cases {
		if got := r.Online(c.node, t0.Add(c.after)); got != c.want {
			t.Errorf("Online(%s, +%s) = %v, want %v", c.node, c.after, got, c.want)
		}
	}
	if n := r.OnlineCount(t0.Add(time.Second)); n != 1 {
		t.Errorf("OnlineCount = %d, want 1", n)
	}
}

// TestFilterNames: every filter of the chain has its own name, the
// template field it checks.
func TestFilterNames(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range DefaultFilters() {
		if f.Name() == "" || seen[f.Name()] {
			t.Errorf("filter %T has an empty or repeated name %q", f, f.Name())
		}
		seen[f.Name()] = true
	}
	if len(seen) != 13 {
		t.Errorf("%d filters, want 13 (one per template field)", len(seen))
	}
	tp := tpl(`{"usage_time":"1m","os":{"vendor":"redhat"}}`)
	if f, why := (StaticMatcher{}).MatchBy(&tp, ptr(view("a", 2, 1024))); f != "os.vendor" || !strings.HasPrefix(why, "os vendor") {
		t.Errorf("MatchBy = %q, %q", f, why)
	}
}

func TestPolicies(t *testing.T) {
	nodes := []NodeView{
		view("empty", 8, 8192),
		view("half", 8, 8192, func(n *NodeView) { n.Reserved = store.Capacity{Cores: 4, MemoryMB: 4096, Sessions: 1} }),
		view("many", 8, 8192, func(n *NodeView) { n.Reserved = store.Capacity{Cores: 2, MemoryMB: 2048, Sessions: 4} }),
	}
	demand := store.Capacity{Cores: 2, MemoryMB: 2048, Sessions: 1}
	cases := []struct {
		policy string
		want   string
	}{
		{PolicyLeastLoaded, "empty,many,half"},
		{PolicyBestFit, "half,many,empty"},
		{PolicySpread, "empty,half,many"},
	}
	for _, c := range cases {
		t.Run(c.policy, func(t *testing.T) {
			p, err := PolicyByName(c.policy)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range (Ranker{Policy: p, Weights: DefaultWeights()}).Rank(nodes, demand, UserHistory{}) {
				got = append(got, s.Name)
			}
			if strings.Join(got, ",") != c.want {
				t.Fatalf("Rank = %v, want %s", got, c.want)
			}
		})
	}
	if _, err := PolicyByName("random"); err == nil {
		t.Error("unknown policy accepted")
	}
}

func TestAffinity(t *testing.T) {
	nodes := []NodeView{
		view("a", 8, 8192),
		view("b", 8, 8192, func(n *NodeView) { n.Reserved = store.Capacity{Cores: 2, MemoryMB: 2048} }),
		view("c", 8, 8192, func(n *NodeView) { n.Reserved = store.Capacity{Cores: 2, MemoryMB: 2048} }),
	}
	nodes[1].CachedUsers = []string{"alice"}
	nodes[2].ReservedAccounts = []string{"alice"}
	r := Ranker{Policy: LeastLoaded{}, Weights: DefaultWeights()}
	cases := []struct {
		name string
		u    UserHistory
		want string
		comp string
	}{
		{"no history: policy alone", UserHistory{}, "a", ScorePolicy},
		{"cached data beats a little load", UserHistory{Name: "alice"}, "b", ScoreCachedData},
		{"previous node and account", UserHistory{Name: "alice", PreviousNode: "c"}, "c", ScorePreviousNode},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := r.Rank(nodes, store.Capacity{Cores: 1}, c.u)
			if got[0].Name != c.want || got[0].Components[c.comp] == 0 && c.comp != ScorePolicy {
				t.Fatalf("best = %s %v, want %s with %s", got[0].Name, got[0].Components, c.want, c.comp)
			}
		})
	}
}

func TestDemandWithProfiles(t *testing.T) {
	prof := map[string]store.Profile{"vim": {CPUPercent: 5.2, BandwidthKbps: 20}, "python3": {CPUPercent: 50, BandwidthKbps: 50}}
	cases := []struct {
		tpl     string
		cpu, bw int
	}{
		{`{"usage_time":"1m","applications":["vim","python3"]}`, 56, 70},
		{`{"usage_time":"1m","applications":["vim"],"qos":{"cpu_percent":80}}`, 80, 20},
		{`{"usage_time":"1m","applications":["unknown"]}`, 0, 0},
	}
	for _, c := range cases {
		tp := tpl(c.tpl)
		d := DemandWith(&tp, prof)
		if d.CPUPercent != c.cpu || d.BandwidthKbps != c.bw || d.Sessions != 1 {
			t.Errorf("%s: demand %+v, want cpu %d bw %d", c.tpl, d, c.cpu, c.bw)
		}
	}
}

func ptr[T any](v T) *T { return &v }
