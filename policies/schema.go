package policies

// kind is the YAML type an attribute takes.
type kind int

const (
	kString kind = iota
	kInt
	kFloat
	kDuration
	kBool
	kEnum
)

func (k kind) String() string {
	return [...]string{"a string", "an integer", "a number", "a duration such as \"30m\"", "true or false", "one of the listed words"}[k]
}

// MergeRule is how a scalar attribute that several classes of a chain define
// resolves. Every merged value records the rule that chose it.
type MergeRule string

// The merge rules. See docs/policies.md, "Merge semantics".
const (
	// RuleMin keeps the smallest value defined anywhere up the tree (the most
	// restrictive limit; 0 means "no limit" and never wins).
	RuleMin MergeRule = "most-restrictive (min)"
	// RuleSeverity keeps the most severe enforcement action.
	RuleSeverity MergeRule = "most-severe"
	// RuleAnd keeps false if any class says false (a permission that every
	// ancestor must grant).
	RuleAnd MergeRule = "all-must-allow"
	// RuleNearest keeps the value of the nearest class that defines it,
	// parents in their "inherits" order (Slurm's "first limit defined up the
	// tree wins").
	RuleNearest MergeRule = "nearest-defined"
	// RuleOwn is not inherited at all: only the class's own file counts.
	RuleOwn MergeRule = "own"
	// RuleOverride marks a value a class set with "override: true" in its
	// section: it replaces whatever the parents said.
	RuleOverride MergeRule = "override"
	// RuleUnion is for lists: allowed things add up down the tree.
	RuleUnion MergeRule = "union"
)

// attrSpec describes one scalar attribute of the file format.
type attrSpec struct {
	key  string
	kind kind
	rule MergeRule
	enum []string
	max  float64 // inclusive upper bound when > 0
}

// Actions an enforcer can take on a violation, least severe first.
var actionWords = []string{"none", "warn", "renice", "throttle", "kill_application", "end_session"}

var attrSpecs = []attrSpec{
	{key: "class", kind: kString, rule: RuleOwn},
	{key: "description", kind: kString, rule: RuleOwn},
	{key: "account_pool.prefix", kind: kString, rule: RuleOwn},
	{key: "account_pool.size", kind: kInt, rule: RuleOwn, max: 99},
	{key: "account_pool.kind", kind: kEnum, rule: RuleOwn, enum: []string{"normal", "superuser"}},
	{key: "account_pool.hold", kind: kDuration, rule: RuleOwn},

	{key: "session.max_usage_time", kind: kDuration, rule: RuleMin},
	{key: "session.max_processes", kind: kInt, rule: RuleMin, max: 1 << 20},
	{key: "session.disk_quota_mb", kind: kInt, rule: RuleMin},
	{key: "session.cpu_min_percent", kind: kInt, rule: RuleMin, max: 100000},
	{key: "session.cpu_max_percent", kind: kInt, rule: RuleMin, max: 100000},
	{key: "session.bandwidth_min_kbps", kind: kInt, rule: RuleMin},
	{key: "session.bandwidth_max_kbps", kind: kInt, rule: RuleMin},
	{key: "session.accounting.price_per_hour", kind: kFloat, rule: RuleNearest},
	{key: "session.accounting.price_per_cpu_hour", kind: kFloat, rule: RuleNearest},
	{key: "session.accounting.currency", kind: kString, rule: RuleNearest},
	{key: "session.on_violation.usage_time", kind: kEnum, rule: RuleSeverity, enum: actionWords},
	{key: "session.on_violation.processes", kind: kEnum, rule: RuleSeverity, enum: actionWords},
	{key: "session.on_violation.disk_quota", kind: kEnum, rule: RuleSeverity, enum: actionWords},
	{key: "session.on_violation.cpu", kind: kEnum, rule: RuleSeverity, enum: actionWords},
	{key: "session.on_violation.bandwidth", kind: kEnum, rule: RuleSeverity, enum: actionWords},

	{key: "application.user_binaries.unsigned", kind: kEnum, rule: RuleSeverity, enum: []string{"confine", "deny"}},
	{key: "application.sandbox.network", kind: kBool, rule: RuleAnd},
	{key: "application.sandbox.memory_mb", kind: kInt, rule: RuleMin},

	{key: "qos.tolerance_percent", kind: kInt, rule: RuleMin, max: 1000},
	{key: "qos.grace", kind: kDuration, rule: RuleMin},
	{key: "qos.on_exceed.cpu", kind: kEnum, rule: RuleSeverity, enum: actionWords},
	{key: "qos.on_exceed.bandwidth", kind: kEnum, rule: RuleSeverity, enum: actionWords},
	{key: "qos.on_exceed.memory", kind: kEnum, rule: RuleSeverity, enum: actionWords},
}

// listSpec describes one list-of-strings attribute.
type listSpec struct {
	key  string
	rule MergeRule // RuleUnion or RuleOwn
	// act and eft, when act is set, make each item a decision rule.
	act, eft string
}

var listSpecs = []listSpec{
	{key: "inherits", rule: RuleOwn},
	{key: "users", rule: RuleOwn},
	{key: "groups", rule: RuleOwn},
	{key: "vo", rule: RuleOwn},
	{key: "executables", rule: RuleUnion, act: ActExec, eft: effAllow},
	{key: "account.executables", rule: RuleUnion, act: ActExec, eft: effAllow},
	{key: "account.deny_executables", rule: RuleUnion, act: ActExec, eft: effDeny},
	{key: "account.files.read", rule: RuleUnion, act: ActRead, eft: effAllow},
	{key: "account.files.write", rule: RuleUnion, act: ActWrite, eft: effAllow},
	{key: "account.files.deny", rule: RuleUnion, act: actReadWrite, eft: effDeny},
	{key: "account.forward", rule: RuleUnion, act: ActForward, eft: effAllow},
	{key: "account.env", rule: RuleUnion, act: ActEnv, eft: effAllow},
	{key: "application.user_binaries.trusted_signers", rule: RuleUnion},
	{key: "account_pool.sudo", rule: RuleOwn},
}

// sections are the mappings that may hold the keys above; each may also hold
// "override: true".
var sections = map[string]bool{
	"account_pool": true, "session": true, "session.accounting": true, "session.on_violation": true,
	"account": true, "account.files": true, "application": true, "application.user_binaries": true,
	"application.sandbox": true, "qos": true, "qos.on_exceed": true,
}

// special keys parsed by their own functions.
const (
	keyArguments = "account.arguments"
	keyInstalled = "application.installed"
)

var (
	attrByKey = map[string]*attrSpec{}
	listByKey = map[string]*listSpec{}
)

func init() {
	for i := range attrSpecs {
		attrByKey[attrSpecs[i].key] = &attrSpecs[i]
	}
	for i := range listSpecs {
		listByKey[listSpecs[i].key] = &listSpecs[i]
	}
}

func severity(word string) int {
	for i, w := range actionWords {
		if w == word {
			return i
		}
	}
	if word == "deny" {
		return 10
	}
	return 0 // "confine" and unknown words
}
