package policies

import (
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
)

// query is one Decide question of a benchmark mix.
type query struct{ class, act, obj string }

// latencyRing keeps the last per-op latencies of a benchmark.
type latencyRing struct {
	ns []int64
	n  int
}

func newLatencyRing() *latencyRing { return &latencyRing{ns: make([]int64, 1<<20)} }

func (r *latencyRing) add(d time.Duration) {
	r.ns[r.n%len(r.ns)] = int64(d)
	r.n++
}

// report adds p50, p99 and p99.9 per-op latencies (ns) to b's output.
func (r *latencyRing) report(b *testing.B) {
	n := min(r.n, len(r.ns))
	if n == 0 {
		return
	}
	s := slices.Clone(r.ns[:n])
	slices.Sort(s)
	at := func(q float64) float64 { return float64(s[min(n-1, int(q*float64(n)))]) }
	b.ReportMetric(at(0.50), "p50-ns/op")
	b.ReportMetric(at(0.99), "p99-ns/op")
	b.ReportMetric(at(0.999), "p99.9-ns/op")
}

func benchDecide(b *testing.B, s *Set, qs []query) {
	r := newLatencyRing()
	allowed := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := qs[i%len(qs)]
		t0 := time.Now()
		d := s.Decide(q.class, q.act, q.obj)
		r.add(time.Since(t0))
		if d.Allow {
			allowed++
		}
	}
	b.StopTimer()
	r.report(b)
	if allowed == 0 || allowed == b.N && b.N > len(qs) {
		b.Fatalf("query mix is one-sided: %d of %d allowed", allowed, b.N)
	}
}

func exampleQueries(s *Set) []query {
	var qs []query
	objs := map[string][]string{
		ActExec:  {"ls", "/usr/bin/vim", "bash", "/bin/sh", "python3", "nano", "/opt/appa/bin/appactl"},
		ActRead:  {"~/src/main.go", "~/.ssh/id_ed25519", "/etc/shadow", "/var/log/syslog", "/srv/appa/db"},
		ActWrite: {"~/out.txt", "/etc/passwd", "/srv/appb/x"},
		ActEnv:   {"LC_ALL", "LD_PRELOAD"},
	}
	for _, c := range s.Names() {
		for _, act := range []string{ActExec, ActRead, ActWrite, ActEnv} {
			for _, o := range objs[act] {
				qs = append(qs, query{c, act, o})
			}
		}
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(qs), func(i, j int) { qs[i], qs[j] = qs[j], qs[i] })
	return qs
}

// BenchmarkDecideExamples: the example set, a mix of allowed and denied
// exec/read/write/env questions over every class. Target p99 ≤ 5 µs.
func BenchmarkDecideExamples(b *testing.B) {
	s, err := LoadDir("examples")
	if err != nil {
		b.Fatal(err)
	}
	benchDecide(b, s, exampleQueries(s))
}

// genSet generates n classes × rules rules: a 4-ary tree (depth ~5 for
// 1,000) where every 10th class also inherits an earlier class (diamonds);
// per class 30 exec allows, 5 exec denies, 10 read globs, 5 write paths.
func genSet(n, rules int) map[string][]byte {
	out := make(map[string][]byte, n)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < n; i++ {
		var b strings.Builder
		fmt.Fprintf(&b, "class: c%d\n", i)
		if i > 0 {
			parents := []string{fmt.Sprintf("c%d", (i-1)/4)}
			if i%10 == 0 && i > 20 {
				if p := fmt.Sprintf("c%d", rng.IntN(i/2)); p != parents[0] {
					parents = append(parents, p)
				}
			}
			fmt.Fprintf(&b, "inherits: [%s]\n", strings.Join(parents, ", "))
		}
		fmt.Fprintf(&b, "account_pool: {prefix: g%d, size: 2}\ngroups: [grp%d]\n", i, i%50)
		fmt.Fprintf(&b, "session: {max_processes: %d, max_usage_time: %dm}\n", 10+rng.IntN(500), 10+rng.IntN(600))
		per := rules / 10
		b.WriteString("account:\n  executables:\n")
		for j := 0; j < 6*per; j++ {
			fmt.Fprintf(&b, "    - tool-%d-%d\n", i, j)
		}
		b.WriteString("  deny_executables:\n")
		for j := 0; j < per; j++ {
			fmt.Fprintf(&b, "    - bad-%d-%d\n", i, j)
		}
		b.WriteString("  files:\n    read:\n")
		for j := 0; j < 2*per; j++ {
			fmt.Fprintf(&b, "      - /data/%d/%d/**\n", i, j)
		}
		b.WriteString("    write:\n")
		for j := 0; j < per; j++ {
			fmt.Fprintf(&b, "      - /scratch/%d/%d\n", i, j)
		}
		out[fmt.Sprintf("c%04d.yaml", i)] = []byte(b.String())
	}
	return out
}

// genQueries asks about objects of the class itself, of its ancestors, of
// unrelated classes (misses: the whole chain and every glob is tried).
func genQueries(n int) []query {
	rng := rand.New(rand.NewPCG(5, 6))
	qs := make([]query, 0, 4096)
	for len(qs) < cap(qs) {
		c := rng.IntN(n)
		anc := c
		for k := rng.IntN(4); k > 0 && anc > 0; k-- {
			anc = (anc - 1) / 4
		}
		other := rng.IntN(n)
		cls := fmt.Sprintf("c%d", c)
		qs = append(qs,
			query{cls, ActExec, fmt.Sprintf("/usr/bin/tool-%d-%d", anc, rng.IntN(30))},
			query{cls, ActExec, fmt.Sprintf("bad-%d-%d", anc, rng.IntN(5))},
			query{cls, ActExec, fmt.Sprintf("tool-%d-%d", other, rng.IntN(30))},
			query{cls, ActRead, fmt.Sprintf("/data/%d/%d/x/y.csv", anc, rng.IntN(10))},
			query{cls, ActRead, fmt.Sprintf("/data/%d/%d/x", other, rng.IntN(10))},
			query{cls, ActWrite, fmt.Sprintf("/scratch/%d/%d", anc, rng.IntN(5))},
		)
	}
	return qs
}

var generated *Set

func generatedSet(b *testing.B) *Set {
	if generated == nil {
		s, err := LoadFiles(genSet(1000, 50))
		if err != nil {
			b.Fatal(err)
		}
		generated = s
	}
	return generated
}

// BenchmarkDecideGenerated: 1,000 classes × 50 rules. Target p99 ≤ 20 µs.
func BenchmarkDecideGenerated(b *testing.B) {
	benchDecide(b, generatedSet(b), genQueries(1000))
}

// BenchmarkCasbinEnforceExamples: the same questions as
// BenchmarkDecideExamples asked of the casbin enforcer the set compiles to.
func BenchmarkCasbinEnforceExamples(b *testing.B) {
	s, err := LoadDir("examples")
	if err != nil {
		b.Fatal(err)
	}
	e, err := s.Enforcer()
	if err != nil {
		b.Fatal(err)
	}
	benchCasbin(b, e, exampleQueries(s))
}

// BenchmarkCasbinEnforceGenerated: the generated set through casbin.
func BenchmarkCasbinEnforceGenerated(b *testing.B) {
	e, err := generatedSet(b).Enforcer()
	if err != nil {
		b.Fatal(err)
	}
	benchCasbin(b, e, genQueries(1000))
}

func benchCasbin(b *testing.B, e *casbin.Enforcer, qs []query) {
	r := newLatencyRing()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := qs[i%len(qs)]
		t0 := time.Now()
		if _, err := e.Enforce(q.class, q.act, q.obj); err != nil {
			b.Fatal(err)
		}
		r.add(time.Since(t0))
	}
	b.StopTimer()
	r.report(b)
}

// rbacModel is casbin's examples/rbac_model.conf.
const rbacModel = `[request_definition]
r = sub, obj, act
[policy_definition]
p = sub, obj, act
[role_definition]
g = _, _
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act
`

// BenchmarkCasbinRBACModelLarge is casbin's own BenchmarkRBACModelLarge
// (model_b_test.go): 10,000 roles, 1,000 resources, 100,000 users — the
// peer figure, measured in the same run.
func BenchmarkCasbinRBACModelLarge(b *testing.B) {
	m, err := model.NewModelFromString(rbacModel)
	if err != nil {
		b.Fatal(err)
	}
	e, err := casbin.NewEnforcer(m)
	if err != nil {
		b.Fatal(err)
	}
	p := make([][]string, 0, 10000)
	for i := 0; i < 10000; i++ {
		p = append(p, []string{fmt.Sprintf("group%d", i), fmt.Sprintf("data%d", i/10), "read"})
	}
	if _, err := e.AddPolicies(p); err != nil {
		b.Fatal(err)
	}
	g := make([][]string, 0, 100000)
	for i := 0; i < 100000; i++ {
		g = append(g, []string{fmt.Sprintf("user%d", i), fmt.Sprintf("group%d", i/10)})
	}
	if _, err := e.AddGroupingPolicies(g); err != nil {
		b.Fatal(err)
	}
	r := newLatencyRing()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		_, _ = e.Enforce("user50001", "data999", "read")
		r.add(time.Since(t0))
	}
	b.StopTimer()
	r.report(b)
}

// BenchmarkReload1000: a full reload of 1,000 class files × 50 rules —
// read, parse, check, merge with origins, index: what a Watcher does before
// the new set is in force. Target ≤ 500 ms. cpu-ms/op is the process's
// user+system CPU time per reload (less sensitive to a shared machine).
func BenchmarkReload1000(b *testing.B) { benchReload(b, false) }

// BenchmarkReload1000WithCasbin adds compiling the casbin enforcer (50,000
// p lines, 1,100 g lines), which a set otherwise does on first Enforcer().
func BenchmarkReload1000WithCasbin(b *testing.B) { benchReload(b, true) }

func benchReload(b *testing.B, withCasbin bool) {
	dir := b.TempDir()
	for name, body := range genSet(1000, 50) {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := LoadDir(dir)
		if err != nil {
			b.Fatal(err)
		}
		if len(s.Names()) != 1000 {
			b.Fatal("classes missing")
		}
		if withCasbin {
			if _, err := s.Enforcer(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWatcherApply: from an edit of a file under a running Watcher to
// the new set in force (debounce 100 ms included). Target ≤ 2 s.
func BenchmarkWatcherApply(b *testing.B) {
	dir := b.TempDir()
	if err := WriteExamples(dir); err != nil {
		b.Fatal(err)
	}
	w, err := NewWatcher(WatcherConfig{Dir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Shutdown()
	applied := make(chan *Set, 1)
	w.Subscribe(func(s *Set) { applied <- s })
	path := filepath.Join(dir, "guest.yaml")
	orig, _ := os.ReadFile(path)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		body := fmt.Sprintf("%s# edit %d\n", orig, i)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
		select {
		case <-applied:
		case <-time.After(10 * time.Second):
			b.Fatal("edit not applied within 10s")
		}
	}
}
