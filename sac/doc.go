// Package sac is Session Admission Control: it answers Allow or Deny, with the
// parameter and the numbers, for each application a session asks to start,
// from the session's SLA, application profiles, current monitoring data and
// policy. GISH asks it through the node agent's Unix socket.
package sac
