package policies

import (
	"strings"

	"github.com/igrid/igrid/internal/proto"
)

// Action is what an enforcer does when a limit is broken: none, warn,
// renice, throttle, kill_application or end_session (least severe first).
type Action string

// SessionLimits are the session-policy limits of a class. Zero means
// "no limit".
type SessionLimits struct {
	MaxUsageTime     proto.Duration `json:"max_usage_time"`
	MaxProcesses     int            `json:"max_processes"`
	DiskQuotaMB      int            `json:"disk_quota_mb"`
	CPUMinPercent    int            `json:"cpu_min_percent"`
	CPUMaxPercent    int            `json:"cpu_max_percent"`
	BandwidthMinKbps int            `json:"bandwidth_min_kbps"`
	BandwidthMaxKbps int            `json:"bandwidth_max_kbps"`
	Accounting       Accounting     `json:"accounting"`
	OnViolation      Violations     `json:"on_violation"`
}

// Accounting is what a session of the class costs.
type Accounting struct {
	PricePerHour    float64 `json:"price_per_hour"`
	PricePerCPUHour float64 `json:"price_per_cpu_hour"`
	Currency        string  `json:"currency"`
}

// Violations names the action taken when each session limit is broken.
type Violations struct {
	UsageTime Action `json:"usage_time"`
	Processes Action `json:"processes"`
	DiskQuota Action `json:"disk_quota"`
	CPU       Action `json:"cpu"`
	Bandwidth Action `json:"bandwidth"`
}

// AccountPool says how a node builds the class's pool of dynamic accounts.
type AccountPool struct {
	Prefix string `json:"prefix"`
	Size   int    `json:"size"`
	// Kind is "normal" (a controlled normal user, the default) or
	// "superuser" (a controlled superuser).
	Kind string `json:"kind"`
	// Sudo are the commands a superuser pool's accounts may run as root
	// (an absolute path, optionally with fixed arguments); the node
	// generates /etc/sudoers.d/igrid-<class> from them.
	Sudo []string `json:"sudo,omitempty"`
	// Hold is how long an account stays reserved for its last user.
	Hold proto.Duration `json:"hold"`
}

// AccountPolicy is what the class's accounts may run and touch (merged).
type AccountPolicy struct {
	Executables     []string            `json:"executables"`
	DenyExecutables []string            `json:"deny_executables"`
	Read            []string            `json:"read"`
	Write           []string            `json:"write"`
	DenyFiles       []string            `json:"deny_files"`
	Forward         []string            `json:"forward"`
	Env             []string            `json:"env"`
	Arguments       map[string]ArgRules `json:"arguments"`
}

// ArgRules are the argument rules of one program. AllowOptions, when not
// empty, is the only options the program may get; DenyOptions always win;
// patterns are globs over non-option arguments.
type ArgRules struct {
	AllowOptions  []string `json:"allow_options"`
	DenyOptions   []string `json:"deny_options"`
	AllowPatterns []string `json:"allow_patterns"`
	DenyPatterns  []string `json:"deny_patterns"`
}

// ApplicationPolicy covers installed applications and user binaries.
type ApplicationPolicy struct {
	Installed []App `json:"installed"`
	// Unsigned is what happens to a user binary without a trusted
	// signature: "deny" (the default) or "confine" (run in the sandbox).
	Unsigned       string   `json:"unsigned"`
	TrustedSigners []string `json:"trusted_signers"`
	Sandbox        Sandbox  `json:"sandbox"`
}

// Sandbox is how confined programs run.
type Sandbox struct {
	Network  bool `json:"network"`
	MemoryMB int  `json:"memory_mb"`
}

// QoSPolicy is what happens when an application leaves its profile.
type QoSPolicy struct {
	TolerancePercent int            `json:"tolerance_percent"`
	Grace            proto.Duration `json:"grace"`
	OnExceed         QoSActions     `json:"on_exceed"`
}

// QoSActions names the action per resource.
type QoSActions struct {
	CPU       Action `json:"cpu"`
	Bandwidth Action `json:"bandwidth"`
	Memory    Action `json:"memory"`
}

// Limits are the typed numeric limits of a class, what the DRM, SAC, GMMA and
// the node agent enforce.
type Limits struct {
	Session SessionLimits `json:"session"`
	QoS     QoSPolicy     `json:"qos"`
	Sandbox Sandbox       `json:"sandbox"`
	Pool    AccountPool   `json:"account_pool"`
}

// Origin says where a merged value came from and which rule chose it.
type Origin struct {
	Class string    `json:"class"`
	File  string    `json:"file"`
	Line  int       `json:"line"`
	Rule  MergeRule `json:"rule"`
	// Candidates are the values the rule chose from, "class=value (file:line)".
	Candidates []string `json:"candidates,omitempty"`
}

// Class is the merged view of one class: its own rules plus everything it
// inherits.
type Class struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Inherits    []string `json:"inherits"`
	// Executables are the allowed executables (names or absolute paths),
	// merged down the tree, minus those denied by name, sorted, unique.
	Executables []string          `json:"executables"`
	Session     SessionLimits     `json:"session"`
	AccountPool AccountPool       `json:"account_pool"`
	Account     AccountPolicy     `json:"account"`
	Application ApplicationPolicy `json:"application"`
	QoS         QoSPolicy         `json:"qos"`
	Users       []string          `json:"users,omitempty"`
	Groups      []string          `json:"groups,omitempty"`
	VO          []string          `json:"vo,omitempty"`
	// Chain is this class followed by its ancestors, nearest first, each once.
	Chain []string `json:"chain"`
	// File is the file the class was defined in.
	File    string             `json:"file"`
	origins map[string]Origin  // scalars, argument rules, applications
	lists   map[string][]litem // list key → merged items (shared with the merger's memo)
	flat    map[string]string  // scalar key → merged value as text (defined values only)
	idx     []*classIndex      // own rule index of each class of Chain, same order
}

// Origin says where one merged value came from: a scalar key
// ("session.max_processes") or a list item ("account.executables: vim").
func (c *Class) Origin(key string) (Origin, bool) {
	if o, ok := c.origins[key]; ok {
		return o, true
	}
	if i := strings.Index(key, ": "); i > 0 {
		for _, it := range c.lists[key[:i]] {
			if it.v == key[i+2:] {
				return it.o, true
			}
		}
	}
	return Origin{}, false
}

// Origins maps every merged value to where it came from (built per call).
func (c *Class) Origins() map[string]Origin {
	out := make(map[string]Origin, len(c.origins)+64)
	for k, o := range c.origins {
		out[k] = o
	}
	for k, l := range c.lists {
		for _, it := range l {
			out[k+": "+it.v] = it.o
		}
	}
	return out
}

// Limits returns the class's typed limits.
func (c *Class) Limits() Limits {
	return Limits{Session: c.Session, QoS: c.QoS, Sandbox: c.Application.Sandbox, Pool: c.AccountPool}
}
