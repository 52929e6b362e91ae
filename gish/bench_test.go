package gish

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// BenchmarkEAMDecision is one EAM decision (command resolution, argument
// rules, paths against the areas) with the example classes' rules, over a
// mix of allowed and denied argvs; it reports the p99 of one decision.
func BenchmarkEAMDecision(b *testing.B) {
	p := examplePolicyB(b)
	home := p.WriteAreas[0]
	os.WriteFile(filepath.Join(home, "notes.txt"), []byte("x\n"), 0o644)
	argvs := [][]string{
		{"ls", "-la", "notes.txt"}, {"grep", "-e", "x", "notes.txt"}, {"vim", "notes.txt"},
		{"vim", "+!sh", "notes.txt"}, {"python3", "-Ic", "x"}, {"sort", "--compress=sh", "notes.txt"},
		{"cp", "notes.txt", "copy.txt"}, {"sh", "-c", "id"}, {"awk", `{print $1}`, "notes.txt"},
		{"git", "-c", "core.pager=sh", "log"},
	}
	sh := &Shell{policy: p, cfg: ChildConfig{Home: home}}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		argv := argvs[i%len(argvs)]
		t0 := time.Now()
		sh.decide(argv, home)
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
}

func examplePolicyB(b *testing.B) *Policy {
	exes := map[string]string{}
	for _, n := range []string{"ls", "cat", "grep", "sort", "cp", "vim", "python3", "awk", "git", "sleep"} {
		if p, err := filepath.EvalSymlinks("/usr/bin/" + n); err == nil {
			exes[n] = p
		}
	}
	return DefaultPolicy("engineering", exes, b.TempDir())
}

// BenchmarkCommandStart is the per-command cost of starting a program:
// GISH (parse, EAM, SAM round trip to a real SAC socket, the Landlock
// helper, exec, wait) against bash running the same program in a loop.
func BenchmarkCommandStart(b *testing.B) {
	sleep, err := filepath.EvalSymlinks("/usr/bin/sleep")
	if err != nil {
		b.Skip("needs /usr/bin/sleep")
	}
	for _, mode := range []string{"gish", "gish-helper"} {
		b.Run(mode, func(b *testing.B) { benchGISHStart(b, sleep, mode == "gish-helper") })
	}
	b.Run("bash", func(b *testing.B) {
		loop := fmt.Sprintf("for ((i=0;i<%d;i++)); do %s 0; done", b.N, sleep)
		b.ResetTimer()
		if err := exec.Command("bash", "-c", loop).Run(); err != nil {
			b.Fatalf("bash: %v", err)
		}
	})
}

// benchGISHStart runs `sleep 0` b.N times through GISH with a SAC socket;
// helper selects the re-exec helper instead of the restricted thread.
func benchGISHStart(b *testing.B, sleep string, helper bool) {
	{
		p := DefaultPolicy("engineering", map[string]string{"sleep": sleep}, b.TempDir())
		p.Landlock.Helper = helper
		sac := startSAC(b, nil)
		r, w, _ := os.Pipe()
		w.Close()
		defer r.Close()
		// Output to a file, as on a terminal: no copying goroutine.
		null, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		defer null.Close()
		sh, err := NewShell(ChildConfig{SessionID: "s-b", Class: p.Class, Home: p.WriteAreas[0],
			End: time.Now().Add(time.Hour), Executables: p.Executables, Policy: p, SACSocket: sac.path}, r, null, null)
		if err != nil {
			b.Fatal(err)
		}
		defer sh.Close()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if st, _ := sh.Run(context.Background(), "sleep 0"); st != 0 {
				b.Fatalf("status %d", st)
			}
		}
	}
}
