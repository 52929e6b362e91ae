package drm

import (
	"bytes"
	"testing"

	"github.com/igrid/igrid/internal/proto"
)

// TestEncodeChosen: the trace encoded ahead for "node wins at once" is
// the one encode gives once that happened, and t is left as it was.
func TestEncodeChosen(t *testing.T) {
	tr := &Trace{Policy: "least-loaded", Considered: 3}
	tr.reject("n3", MatchName, "cores", "cores 32 > 16")
	for i, name := range []string{"n1", "n2"} {
		nt := tr.node(name)
		nt.Verdict, nt.Rank, nt.Score, nt.Components = VerdictCandidate, i+1, 1-float64(i)/2, map[string]float64{ScorePolicy: 0.5}
	}
	ahead := tr.encodeChosen("n1")
	if tr.Outcome != "" || tr.Node != "" || tr.node("n1").Verdict != VerdictCandidate {
		t.Fatalf("encodeChosen changed the trace: %+v", tr)
	}
	tr.node("n1").Verdict = VerdictChosen
	tr.Outcome, tr.Node = string(proto.StateScheduled), "n1"
	if now := tr.encode(); !bytes.Equal(ahead, now) {
		t.Fatalf("ahead:\n%s\nafter:\n%s", ahead, now)
	}
}
