package confine

import (
	"path/filepath"
	"reflect"
	"testing"
)

func TestSpecRoundTrip(t *testing.T) {
	s := &Spec{Read: []string{"/usr/lib"}, Write: []string{"/home/x"}, Exec: []string{"/usr/bin/ls"}, MinABI: 3, NProc: 9}
	got, err := Decode(s.Encode())
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Errorf("round trip: %+v, %v", got, err)
	}
	if _, err := Decode("{not json"); err == nil {
		t.Error("bad spec accepted")
	}
}

func TestInterpreters(t *testing.T) {
	ls, err := filepath.EvalSymlinks("/usr/bin/ls")
	if err != nil {
		t.Skip("needs /usr/bin/ls")
	}
	in := Interpreters([]string{ls, "/etc/hostname"})
	if len(in) != 1 || filepath.Base(in[0])[:3] != "ld-" {
		t.Errorf("Interpreters(ls) = %v, want the one ELF loader", in)
	}
}

func TestHandledGrowsWithABI(t *testing.T) {
	if handled(0) != 0 || handled(1) == 0 || handled(3)&^handled(5) != 0 || handled(5) == handled(1) {
		t.Errorf("handled rights by ABI: 1=%v 3=%v 5=%v", handled(1), handled(3), handled(5))
	}
}
