package policies

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/igrid/igrid/internal/proto"
)

// resolved is a merged scalar with its origin.
type resolved struct {
	v  val
	o  Origin
	ok bool
}

// litem is a merged list item with its origin.
type litem struct {
	v string
	o Origin
}

// merger resolves values over a set of files, memoising per class.
type merger struct {
	files   map[string]*file
	scalars map[string]map[string]resolved
	lists   map[string]map[string][]litem
}

func newMerger(files map[string]*file) *merger {
	return &merger{files: files, scalars: map[string]map[string]resolved{}, lists: map[string]map[string][]litem{}}
}

func section(key string) string {
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		return key[:i]
	}
	return ""
}

// scalar resolves one attribute of class name by its merge rule.
func (m *merger) scalar(name string, spec *attrSpec) resolved {
	if r, ok := m.scalars[name][spec.key]; ok {
		return r
	}
	f := m.files[name]
	own, has := f.vals[spec.key]
	mk := func(rule MergeRule) resolved {
		return resolved{v: own, ok: true, o: Origin{Class: name, File: f.path, Line: own.line, Rule: rule}}
	}
	var r resolved
	_, override := f.override[section(spec.key)]
	switch {
	case spec.rule == RuleOwn:
		if has {
			r = mk(RuleOwn)
		}
	case has && override:
		r = mk(RuleOverride)
	case spec.rule == RuleNearest:
		if has {
			r = mk(RuleNearest)
			break
		}
		for _, p := range f.parents() {
			if pr := m.scalar(p, spec); pr.ok {
				r = pr
				r.o.Rule = RuleNearest
				break
			}
		}
	default:
		var cands []resolved
		if has {
			cands = append(cands, mk(spec.rule))
		}
		for _, p := range f.parents() {
			if pr := m.scalar(p, spec); pr.ok {
				cands = append(cands, pr)
			}
		}
		r = pick(spec, cands)
	}
	if m.scalars[name] == nil {
		m.scalars[name] = map[string]resolved{}
	}
	m.scalars[name][spec.key] = r
	return r
}

// pick applies a min / severity / and rule to candidates (own first, then
// parents in order); ties keep the nearest.
func pick(spec *attrSpec, cands []resolved) resolved {
	if len(cands) == 0 {
		return resolved{}
	}
	best := -1
	for i, c := range cands {
		if best < 0 || better(spec, c.v, cands[best].v) {
			best = i
		}
	}
	r := cands[best]
	r.o.Rule = spec.rule
	r.o.Candidates = nil
	if len(cands) > 1 {
		seen := map[string]bool{}
		for _, c := range cands {
			s := fmt.Sprintf("%s=%s (%s:%d)", c.o.Class, formatVal(spec, c.v), c.o.File, c.o.Line)
			if !seen[s] {
				seen[s] = true
				r.o.Candidates = append(r.o.Candidates, s)
			}
		}
	}
	return r
}

// better reports whether a beats b under spec's rule.
func better(spec *attrSpec, a, b val) bool {
	switch spec.rule {
	case RuleSeverity:
		return severity(a.s) > severity(b.s)
	case RuleAnd:
		return !a.b && b.b
	}
	x, y := a.n, b.n
	if spec.kind == kDuration {
		x, y = float64(a.d), float64(b.d)
	}
	switch { // 0 means "no limit": any limit beats it
	case y == 0:
		return x != 0
	case x == 0:
		return false
	}
	return x < y
}

func formatVal(spec *attrSpec, v val) string {
	switch spec.kind {
	case kInt:
		return strconv.Itoa(int(v.n))
	case kFloat:
		return strconv.FormatFloat(v.n, 'g', -1, 64)
	case kDuration:
		return v.d.String()
	case kBool:
		return strconv.FormatBool(v.b)
	}
	return v.s
}

// list resolves a list attribute: own items, then the parents' (union).
func (m *merger) list(name string, spec *listSpec) []litem {
	if l, ok := m.lists[name][spec.key]; ok {
		return l
	}
	f := m.files[name]
	own := f.lists[spec.key]
	var from [][]litem
	size := len(own)
	if spec.rule == RuleUnion {
		for _, p := range f.parents() {
			if l := m.list(p, spec); len(l) > 0 {
				from = append(from, l)
				size += len(l)
			}
		}
	}
	// Merged lists are kept sorted by value, so that a union is a linear
	// merge; on equal values the nearer origin (own, then parents in order)
	// is kept.
	var out []litem
	switch {
	case size == 0:
	case len(own) == 0 && len(from) == 1:
		out = from[0] // one parent, nothing added: share its (immutable) list
	default:
		out = make([]litem, 0, len(own))
		for _, it := range own {
			out = append(out, litem{v: it.v, o: Origin{Class: name, File: f.path, Line: it.line, Rule: spec.rule}})
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i].v < out[j].v })
		out = slices.CompactFunc(out, func(a, b litem) bool { return a.v == b.v })
		for _, l := range from {
			out = mergeItems(out, l)
		}
	}
	if m.lists[name] == nil {
		m.lists[name] = map[string][]litem{}
	}
	m.lists[name][spec.key] = out
	return out
}

// mergeItems merges two sorted, unique lists; a wins ties.
func mergeItems(a, b []litem) []litem {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	out := make([]litem, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i].v < b[j].v):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].v < a[i].v:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	return out
}

// class builds the merged view of one class.
func (m *merger) class(name string, own map[string]*classIndex) (*Class, []Problem) {
	f := m.files[name]
	c := &Class{Name: name, File: f.path, Inherits: f.parents(), Chain: chain(m.files, name),
		origins: map[string]Origin{}, lists: map[string][]litem{}, flat: map[string]string{}}
	for _, n := range c.Chain {
		c.idx = append(c.idx, own[n])
	}
	get := func(key string) val {
		r := m.scalar(name, attrByKey[key])
		if r.ok {
			c.origins[key] = r.o
			c.flat[key] = formatVal(attrByKey[key], r.v)
		}
		return r.v
	}
	items := func(key string) []string {
		l := m.list(name, listByKey[key])
		out := make([]string, 0, len(l))
		for _, it := range l {
			out = append(out, it.v)
		}
		if len(l) > 0 {
			c.lists[key] = l
		}
		return out // already sorted
	}
	c.Description = get("description").s
	c.Users, c.Groups, c.VO = items("users"), items("groups"), items("vo")
	c.AccountPool = AccountPool{Prefix: get("account_pool.prefix").s, Size: int(get("account_pool.size").n),
		Kind: orDefault(get("account_pool.kind").s, "normal"), Hold: dur(get("account_pool.hold")),
		Sudo: items("account_pool.sudo")}
	c.Session = m.session(get)
	c.Account = AccountPolicy{
		Executables:     union(items("executables"), items("account.executables")),
		DenyExecutables: items("account.deny_executables"), Read: items("account.files.read"),
		Write: items("account.files.write"), DenyFiles: items("account.files.deny"),
		Forward: items("account.forward"), Env: items("account.env"),
		Arguments: m.arguments(c),
	}
	c.Executables = minus(c.Account.Executables, c.Account.DenyExecutables)
	net := m.scalar(name, attrByKey["application.sandbox.network"])
	if net.ok {
		c.origins["application.sandbox.network"] = net.o
		c.flat["application.sandbox.network"] = formatVal(attrByKey["application.sandbox.network"], net.v)
	}
	c.Application = ApplicationPolicy{
		Installed: m.apps(c), Unsigned: orDefault(get("application.user_binaries.unsigned").s, "deny"),
		TrustedSigners: items("application.user_binaries.trusted_signers"),
		Sandbox:        Sandbox{Network: !net.ok || net.v.b, MemoryMB: int(get("application.sandbox.memory_mb").n)},
	}
	c.QoS = QoSPolicy{TolerancePercent: int(get("qos.tolerance_percent").n), Grace: dur(get("qos.grace")),
		OnExceed: QoSActions{CPU: Action(get("qos.on_exceed.cpu").s), Bandwidth: Action(get("qos.on_exceed.bandwidth").s),
			Memory: Action(get("qos.on_exceed.memory").s)}}
	return c, checkMerged(c, f)
}

func (m *merger) session(get func(string) val) SessionLimits {
	n := func(k string) int { return int(get("session." + k).n) }
	a := func(k string) Action { return Action(get("session.on_violation." + k).s) }
	return SessionLimits{
		MaxUsageTime: dur(get("session.max_usage_time")), MaxProcesses: n("max_processes"),
		DiskQuotaMB: n("disk_quota_mb"), CPUMinPercent: n("cpu_min_percent"), CPUMaxPercent: n("cpu_max_percent"),
		BandwidthMinKbps: n("bandwidth_min_kbps"), BandwidthMaxKbps: n("bandwidth_max_kbps"),
		Accounting: Accounting{PricePerHour: get("session.accounting.price_per_hour").n,
			PricePerCPUHour: get("session.accounting.price_per_cpu_hour").n, Currency: get("session.accounting.currency").s},
		OnViolation: Violations{UsageTime: a("usage_time"), Processes: a("processes"), DiskQuota: a("disk_quota"),
			CPU: a("cpu"), Bandwidth: a("bandwidth")},
	}
}

// checkMerged catches contradictions that only the merged view shows.
func checkMerged(c *Class, f *file) []Problem {
	var probs []Problem
	pair := func(lo, hi int, loKey, hiKey string) {
		if lo > 0 && hi > 0 && lo > hi {
			probs = append(probs, Problem{File: f.path, Line: f.line, Key: loKey,
				Msg: fmt.Sprintf("merged %s=%d (from %s) is above %s=%d (from %s)", loKey, lo,
					c.origins[loKey].Class, hiKey, hi, c.origins[hiKey].Class)})
		}
	}
	pair(c.Session.CPUMinPercent, c.Session.CPUMaxPercent, "session.cpu_min_percent", "session.cpu_max_percent")
	pair(c.Session.BandwidthMinKbps, c.Session.BandwidthMaxKbps, "session.bandwidth_min_kbps", "session.bandwidth_max_kbps")
	return probs
}

// arguments merges the argument rules of every program along the chain.
func (m *merger) arguments(c *Class) map[string]ArgRules {
	out := map[string]ArgRules{}
	seen := map[string]bool{}
	for _, n := range c.Chain {
		f := m.files[n]
		for _, prog := range f.argOrder {
			a, r := f.args[prog], out[prog]
			add := func(dst *[]string, kind string, items []item) {
				for _, it := range items {
					key := keyArguments + "." + prog + "." + kind + ": " + it.v
					if !seen[key] {
						seen[key] = true
						*dst = append(*dst, it.v)
						c.origins[key] = Origin{Class: n, File: f.path, Line: it.line, Rule: RuleUnion}
					}
				}
			}
			add(&r.AllowOptions, "allow_options", a.allowOptions)
			add(&r.DenyOptions, "deny_options", a.denyOptions)
			add(&r.AllowPatterns, "allow_patterns", a.allowPatterns)
			add(&r.DenyPatterns, "deny_patterns", a.denyPatterns)
			out[prog] = r
		}
	}
	return out
}

// apps merges application.installed: nearest definition of an id wins.
func (m *merger) apps(c *Class) []App {
	var out []App
	seen := map[string]bool{}
	for _, n := range c.Chain {
		for _, a := range m.files[n].apps {
			if !seen[a.ID] {
				seen[a.ID] = true
				a.Class = n
				out = append(out, a)
				c.origins[keyInstalled+": "+a.ID] = Origin{Class: n, File: a.File, Line: a.Line, Rule: RuleNearest}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func dur(v val) proto.Duration { return proto.Duration(v.d) }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// union merges two sorted, unique lists into one.
func union(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	out := make([]string, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	return out
}

// minus removes the items of sorted b from sorted a.
func minus(a, b []string) []string {
	if len(b) == 0 {
		return a
	}
	out := make([]string, 0, len(a))
	j := 0
	for _, x := range a {
		for j < len(b) && b[j] < x {
			j++
		}
		if j < len(b) && b[j] == x {
			continue
		}
		out = append(out, x)
	}
	return out
}
