// Package accounts is the Dynamic Account Manager: per-class pools of real
// Unix accounts on an execution node, bound to one grid user for one session
// and cleaned before they go back to the pool. The node agent is its caller.
package accounts
