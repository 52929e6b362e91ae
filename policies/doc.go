// Package policies is igrid's policy engine. Administrators describe each
// class (a role such as finance or engineering) in one YAML file: its
// parents, who falls in it, and four policy kinds — session limits, account
// rules (executables, arguments, files, environment), application rules
// (installed applications, user binaries, sandbox) and QoS actions. LoadDir
// checks the files (every problem with file, line and key), merges each
// class with its ancestors by per-attribute rules that record where every
// value came from, indexes the allow/deny rules for Decide and compiles them
// to a casbin model (role inheritance, deny-override) that answers the same.
//
// Callers: the DRM (mapping users to classes, limits for admission and
// scheduling), the node agent (account pools, executables, limits), GISH
// (Decide and CheckCommand at every command), SAC and GMMA (Limits). They
// hold a Source — a static *Set, a Watcher (hot reload from a directory) or a
// Subscriber (sets the DRM's Publisher sends over NATS) — and ask Current()
// at each decision point. Check, Explain, Show and Diff are the library side
// of `igrid policy`; DesktopMenu generates the controlled desktop's menu.
package policies
