package gish

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"time"
)

// SACRequest is the one line GISH sends the node agent's SAC socket before
// starting an application; SACReply is the one line it reads back. The
// agent identifies the caller by SO_PEERCRED (uid, pid), never by fields of
// the request. Protocol: gish/README.md "SAM".
type SACRequest struct {
	App  string   `json:"app"`
	Argv []string `json:"argv"`
}

// SACReply is the SAC's decision; Reason is shown to the user on a deny.
type SACReply struct {
	Allow  bool   `json:"allow"`
	Reason string `json:"reason"`
	// Message is the SAC's sentence with the numbers (parameter, current,
	// estimate, limit); Reason its short code.
	Message string `json:"message,omitempty"`
}

// sacTimeout bounds one admission round trip; no answer is a deny.
const sacTimeout = 5 * time.Second

// AskSAC asks the SAC at socket whether app may start with argv. Any
// failure to get an answer is an error (the caller denies: fail closed).
func AskSAC(socket, app string, argv []string) (SACReply, error) {
	var rep SACReply
	c, err := net.DialTimeout("unix", socket, sacTimeout)
	if err != nil {
		return rep, fmt.Errorf("SAC unreachable: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(sacTimeout))
	b, _ := json.Marshal(SACRequest{App: app, Argv: argv})
	if _, err := c.Write(append(b, '\n')); err != nil {
		return rep, fmt.Errorf("SAC request: %w", err)
	}
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		return rep, fmt.Errorf("SAC reply: %w", err)
	}
	if err := json.Unmarshal(line, &rep); err != nil {
		return rep, fmt.Errorf("SAC reply %q: %w", firstLine(string(line)), err)
	}
	return rep, nil
}

// admit is SAM: it asks the SAC about one application and turns a Deny
// (or no answer) into a Denial carrying the SAC's reason.
func (sh *Shell) admit(app string, argv []string) error {
	if sh.cfg.SACSocket == "" {
		return nil
	}
	rep, err := AskSAC(sh.cfg.SACSocket, app, argv)
	if err != nil {
		return &Denial{Subject: app, Rule: RuleAdmission, Reason: "cannot be admitted: " + err.Error()}
	}
	if !rep.Allow {
		why := rep.Reason
		switch {
		case rep.Message != "" && why != "":
			why = rep.Message + " (" + why + ")"
		case rep.Message != "":
			why = rep.Message
		case why == "":
			why = "no reason given"
		}
		return &Denial{Subject: app, Rule: RuleAdmission, Reason: "was refused by admission control: " + why}
	}
	return nil
}
