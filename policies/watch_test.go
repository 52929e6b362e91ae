package policies

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/igrid/igrid/internal/testutil"
	"github.com/prometheus/client_golang/prometheus"
)

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	tmp := path + ".tmp~"
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestWatcherReload(t *testing.T) {
	dir := t.TempDir()
	if err := WriteExamples(dir); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	w, err := NewWatcher(WatcherConfig{Dir: dir, Registerer: reg, Debounce: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown()
	var mu sync.Mutex
	var got []*Set
	cancel := w.Subscribe(func(s *Set) { mu.Lock(); got = append(got, s); mu.Unlock() })
	defer cancel()
	var src Source = w
	if !src.Current().Decide("engineering", ActExec, "vim").Allow {
		t.Fatal("vim not allowed before the edit")
	}
	first := w.Current().Version()

	// Tighten: engineering may no longer run vim.
	eng := filepath.Join(dir, "engineering.yaml")
	orig, _ := os.ReadFile(eng)
	tightened := strings.Replace(string(orig), "account:\n", "account:\n  deny_executables: [vim]\n", 1)
	writeFile(t, eng, tightened)
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if d := src.Current().Decide("engineering", ActExec, "vim"); d.Allow {
			return errors.New("vim still allowed")
		}
		return nil
	})
	good := w.Current().Version()
	if good == first {
		t.Fatal("version did not change")
	}
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(got) != 1 || got[0].Version() != good {
			return fmt.Errorf("subscriber got %d sets, want the new one", len(got))
		}
		return nil
	})

	// A broken edit: the old rules stay, the error names file, line, key.
	writeFile(t, filepath.Join(dir, "finance.yaml"), "class: finance\ninherits: [base]\nsession:\n  max_processes: lots\n")
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if w.LastError() == nil {
			return errors.New("no reload error yet")
		}
		return nil
	})
	if !strings.Contains(w.LastError().Error(), "finance.yaml:4: session.max_processes") {
		t.Errorf("error = %v, want file, line and key", w.LastError())
	}
	if w.Current().Version() != good || w.Current().Decide("engineering", ActExec, "vim").Allow {
		t.Error("a broken edit changed the set in force")
	}
	if n := metricValue(t, reg, "igrid_policy_reload_errors_total"); n < 1 {
		t.Errorf("igrid_policy_reload_errors_total = %v, want ≥ 1", n)
	}
	if len(w.Problems()) != 1 {
		t.Errorf("problems = %v", w.Problems())
	}

	// Repair: the error clears and the repaired set applies.
	writeFile(t, filepath.Join(dir, "finance.yaml"), "class: finance\ninherits: [base]\ngroups: [finance]\naccount_pool: {prefix: igfin, size: 2}\nexecutables: [bc]\n")
	checkFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		if w.LastError() != nil || w.Current().Decide("finance", ActExec, "awk").Allow {
			return errors.New("repair not applied")
		}
		return nil
	})
}

func TestWatcherRefusesBrokenStart(t *testing.T) {
	dir := writeSet(t, map[string]string{"a.yaml": "class: a\nfoo: 1\n"})
	if _, err := NewWatcher(WatcherConfig{Dir: dir}); err == nil {
		t.Fatal("watcher started on a broken set")
	}
}

func TestBundleJSON(t *testing.T) {
	s := examplesT(t)
	b := Bundle{Version: s.Version(), Seq: 7, Files: s.Sources()}
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var back Bundle
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	s2, err := LoadFiles(back.Files)
	if err != nil || s2.Version() != s.Version() {
		t.Fatalf("round trip: %v, %s vs %s", err, s2.Version(), s.Version())
	}
}

func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			m := mf.GetMetric()[0]
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s not exported", name)
	return 0
}

// TestDecideDuringReloads asks questions from several goroutines while the
// watcher swaps sets (run under -race).
func TestDecideDuringReloads(t *testing.T) {
	dir := t.TempDir()
	if err := WriteExamples(dir); err != nil {
		t.Fatal(err)
	}
	w, err := NewWatcher(WatcherConfig{Dir: dir, Debounce: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := w.Current()
				if s.Decide("engineering", ActExec, "bash").Allow {
					t.Error("bash allowed mid-reload")
					return
				}
				if c, err := s.Combine("engineering", "finance"); err != nil || c.Decide(ActExec, "sh").Allow {
					t.Errorf("combine mid-reload: %v", err)
					return
				}
			}
		}()
	}
	path := filepath.Join(dir, "guest.yaml")
	orig, _ := os.ReadFile(path)
	for i := 0; i < 20; i++ {
		writeFile(t, path, fmt.Sprintf("%s# %d\n", orig, i))
		if err := w.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}

// checkFor polls instead of sleeping (internal/testutil).
var checkFor = testutil.Poll
