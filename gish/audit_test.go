package gish

import (
	"io"
	"log/slog"
	"strings"
	"testing"
)

// TestAuditIdentityFromBinding: what a shell writes about who it is does
// not count; a bad line is skipped, the rest still arrives.
func TestAuditIdentityFromBinding(t *testing.T) {
	b := &Binding{SessionID: "s-real", User: "ann", Account: "igeng01", Class: "engineering", Node: "node-a"}
	in := strings.NewReader(`{"session":"s-forged","user":"root","decision":"deny","module":"eam","rule":"executables","argv":["bash"]}
not json
{"decision":"allow","module":"eam","argv":["id","-u"],"cwd":"/home/x"}
`)
	var got []Event
	readAudit(in, b, slog.New(slog.NewTextHandler(io.Discard, nil)), func(ev Event) { got = append(got, ev) })
	if len(got) != 2 {
		t.Fatalf("%d events, want 2 (the bad line skipped): %+v", len(got), got)
	}
	for _, ev := range got {
		if ev.Session != "s-real" || ev.User != "ann" || ev.Account != "igeng01" || ev.Node != "node-a" || ev.Class != "engineering" {
			t.Errorf("identity not from the binding: %+v", ev)
		}
	}
	if got[0].Rule != "executables" || got[1].Cwd != "/home/x" || got[1].Argv[1] != "-u" {
		t.Errorf("decision fields lost: %+v", got)
	}
}
