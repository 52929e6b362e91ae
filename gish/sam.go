package gish

import (
	"github.com/igrid/igrid/sac"
)

// SAM asks the node agent's SAC (sac.Server on ChildConfig.SACSocket)
// before starting an application, over one connection kept for the session
// (sac.Client: one JSON line per question, redialled when it breaks). The
// agent identifies the caller by SO_PEERCRED (uid), never by fields of the
// request. Protocol: gish/README.md "SAM" and package sac.

// sacClient returns the session's SAC client, nil when there is no SAC.
func (sh *Shell) sacClient() *sac.Client {
	sh.sacOnce.Do(func() {
		if sh.cfg.SACSocket != "" {
			sh.sac = sac.NewClient(sh.cfg.SACSocket)
		}
	})
	return sh.sac
}

// Close releases the shell's connection to the SAC.
func (sh *Shell) Close() error {
	if c := sh.sacClient(); c != nil {
		return c.Close()
	}
	return nil
}

// admit is SAM: it asks the SAC about one application and turns a Deny
// (or no answer) into a Denial carrying the SAC's reason.
func (sh *Shell) admit(app string, argv []string) error {
	cl := sh.sacClient()
	if cl == nil {
		return nil
	}
	rep, err := cl.Ask(app, argv)
	if err != nil {
		return &Denial{Subject: app, Rule: RuleAdmission, Reason: "cannot be admitted: " + err.Error()}
	}
	if !rep.Allow {
		return &Denial{Subject: app, Rule: RuleAdmission, Reason: "was refused by admission control: " + sacWhy(rep)}
	}
	return nil
}

// sacWhy is a refusal's sentence and short code.
func sacWhy(d sac.Decision) string {
	why := d.Reason
	switch {
	case d.Message != "" && why != "":
		why = d.Message + " (" + why + ")"
	case d.Message != "":
		why = d.Message
	case why == "":
		why = "no reason given"
	}
	return why
}
