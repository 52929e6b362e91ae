// Package sac is Session Admission Control: it answers Allow or Deny, with the
// parameter and the numbers, for each application a session asks to start,
// from the session's SLA, application profiles, current monitoring data and
// policy. GISH asks it through the node agent's Unix socket.
//
// The algorithm, for each of the five SLA parameters in turn (processes,
// usage time, disk quota, CPU %, bandwidth): take the session's current
// aggregate from GMMA, add the requested application's profile estimate, and
// compare with the SLA limit; the first parameter whose sum passes its limit
// denies the launch, and the Decision names it with current, estimate, limit
// and the overshoot. A session whose usage time is over admits nothing.
//
// Protocol (many questions per connection; a GISH keeps one connection for
// its session, Client, and dials again when it breaks): the client writes a
// JSON line
//
//	{"app": "python3", "argv": ["python3", "job.py"]}
//
// and reads one JSON line back, a Decision:
//
//	{"allow": false, "reason": "over_sla_limit", "session": "s-1", "app": "python3",
//	 "parameter": "cpu_percent", "current": 100, "estimate": 80, "limit": 150,
//	 "over": 30, "message": "python3: denied: cpu_percent would reach 180% …"}
//
// one reply line per request line, in order. A stage request
//
//	{"op": "stage", "app": "./prog", "sig": "<the text of prog.sig>"}
//
// carries the open file (SCM_RIGHTS, exactly one descriptor) and is
// answered by ServerConfig.Stage with the staged copy's "path" (reason
// "staged") or its refusal (reason "stage_refused"; "no_stager" where the
// node stages nothing). Unknown fields or ops, an empty app or a line over
// 64 KiB get reason "bad_request", after which the server closes the
// connection. The caller's session comes from SO_PEERCRED (its uid), never
// from the request; a uid with no session gets "unknown_caller".
package sac
