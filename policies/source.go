package policies

// Source hands out the policy set in force now. A static *Set, a Watcher
// (hot reload from a directory) and a Subscriber (sets received over NATS)
// are Sources; callers ask Current() at every decision point (each GISH
// command, each admission) so that a reload is seen at the next one.
type Source interface {
	// Current returns the set in force; it never returns nil once the
	// source is constructed.
	Current() *Set
}

var (
	_ Source = (*Set)(nil)
	_ Source = (*Watcher)(nil)
	_ Source = (*Subscriber)(nil)
)
