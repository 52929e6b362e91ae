// Package cgroup puts a global session's processes into one kernel control
// group and hands the SLA's hard limits (memory, process count, CPU quota) to
// the kernel. It works on cgroup v1 (including the hybrid layout with a v2
// mount beside the v1 controllers) and on cgroup v2, detected at run time with
// containerd/cgroups' Mode(). The node agent creates the group at session
// start, the GISH re-exec helper joins it before exec, the GMMA sensors read
// its totals and the enforcer freezes and kills it at session end.
package cgroup
