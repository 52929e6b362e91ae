package gish

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"time"
)

// Modules that take decisions, as audit events name them.
const (
	ModuleEAM      = "eam"      // executables, arguments, files
	ModuleUbAM     = "ubam"     // user binaries and their signatures
	ModuleSAM      = "sam"      // application admission (asks the SAC)
	ModuleLandlock = "landlock" // kernel confinement at login
)

// Event is one access-control decision of GISH: published by the node
// agent on igrid.audit.<node> and written to the node's log.
type Event struct {
	Time     time.Time `json:"time"`
	Node     string    `json:"node"`
	Session  string    `json:"session"`
	User     string    `json:"user"`
	Account  string    `json:"account"`
	Class    string    `json:"class"`
	Decision string    `json:"decision"` // "allow" or "deny"
	Module   string    `json:"module"`
	Rule     string    `json:"rule,omitempty"`
	Subject  string    `json:"subject,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Argv     []string  `json:"argv,omitempty"`
	Cwd      string    `json:"cwd,omitempty"`
	Confined string    `json:"confined,omitempty"` // "landlock", "strict", "off"
}

// auditFD is the descriptor GISH writes its events to (ExtraFiles[1]).
const auditFD = 4

// maxAuditLine bounds one event line the server accepts (a 1 MiB command
// line is cut, not refused).
const maxAuditLine = 4 << 20

// readAudit reads the events a shell writes, one JSON object per line,
// until it closes its end. Identity fields come from the binding, never
// from the shell: what the shell claims about who it is does not count.
func readAudit(r io.Reader, b *Binding, log *slog.Logger, sink func(Event)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxAuditLine)
	for sc.Scan() {
		var ev Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			log.Warn("gish audit: bad event", "session", b.SessionID, "err", err)
			continue
		}
		ev.Node, ev.Session, ev.User, ev.Account, ev.Class = b.Node, b.SessionID, b.User, b.Account, b.Class
		log.Info("gish decision", "session", ev.Session, "user", ev.User, "decision", ev.Decision,
			"module", ev.Module, "rule", ev.Rule, "argv", ev.Argv, "cwd", ev.Cwd, "reason", ev.Reason)
		if sink != nil {
			sink(ev)
		}
	}
}

// auditor is the shell's end: it writes events to fd 4 when present.
type auditor struct {
	enc *json.Encoder
}

func (a *auditor) emit(ev Event) {
	if a == nil || a.enc == nil {
		return
	}
	ev.Time = time.Now().UTC()
	for i, s := range ev.Argv {
		if len(s) > 4096 {
			ev.Argv[i] = s[:4096] + "…"
		}
	}
	a.enc.Encode(ev)
}
