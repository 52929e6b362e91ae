package gss

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/igrid/igrid/accounts"
)

// childEnv makes the test binary act as a user's session (see workChild).
const childEnv = "IGRID_GSS_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "work" {
		os.Exit(workChild())
	}
	os.Exit(m.Run())
}

// work is what a simulated session does, as the dynamic account.
type work struct {
	History string   // line appended to ~/.igrid_history
	File    string   // ~/mine.txt gets this content
	Scratch string   // a file left in /tmp
	Probe   []string // paths the session tries to read
}

type workResult struct {
	Listing  []string          // what the session found in its home
	Content  map[string]string // content of its files, read as the account
	Readable []string          // probes it could read
	Err      string
}

// workChild runs as the account: lists the home, tries the probes, writes
// its files, leaves a file in /tmp and a process behind, and reports.
func workChild() int {
	var w work
	var res workResult
	defer func() { json.NewEncoder(os.Stdout).Encode(res) }()
	if err := json.NewDecoder(os.Stdin).Decode(&w); err != nil {
		res.Err = err.Error()
		return 1
	}
	home, _ := os.Getwd()
	filepath.WalkDir(home, func(p string, d fs.DirEntry, err error) error {
		if err == nil && p != home {
			rel, _ := filepath.Rel(home, p)
			res.Listing = append(res.Listing, rel)
		}
		return nil
	})
	res.Content = map[string]string{}
	for _, n := range []string{"mine.txt", ".igrid_history"} {
		if b, err := os.ReadFile(filepath.Join(home, n)); err == nil {
			res.Content[n] = string(b)
		}
	}
	for _, p := range w.Probe {
		if _, err := os.ReadFile(p); err == nil {
			res.Readable = append(res.Readable, p)
		}
	}
	f, err := os.OpenFile(filepath.Join(home, ".igrid_history"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err == nil {
		_, err = f.WriteString(w.History + "\n")
		f.Close()
	}
	err = errors.Join(err, os.WriteFile(filepath.Join(home, "mine.txt"), []byte(w.File), 0o600),
		os.WriteFile(w.Scratch, []byte(w.File), 0o644))
	stray := exec.Command("/bin/sleep", "1000")
	stray.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = errors.Join(err, stray.Start())
	if err != nil {
		res.Err = err.Error()
		return 1
	}
	return 0
}

func randomTag(t *testing.T) string {
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// TestHundredSessions runs 100 sessions in a row on one node, one class
// with a one-account pool, alternating two users: every session hands the
// same Unix account to the other user. Each session restores the user's
// files through the node cache, works as the account (a re-exec of this
// binary under its uid), and is saved and released.
func TestHundredSessions(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: binds real Unix accounts and runs processes as them")
	}
	base, err := os.MkdirTemp("", "igrid-gss-100-") // reachable by the accounts
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(base) })
	must(t, os.Chmod(base, 0o711))
	bin := filepath.Join(base, "gss.test")
	self, _ := os.Executable()
	b, err := os.ReadFile(self)
	must(t, err)
	must(t, os.WriteFile(bin, b, 0o755))

	prefix := "igg" + randomTag(t)
	am := accounts.NewManager(accounts.Config{HomeRoot: filepath.Join(base, "homes"), StateDir: filepath.Join(base, "leases"), Logger: quiet()})
	t.Cleanup(func() {
		if err := am.RemoveAll(); err != nil {
			t.Errorf("RemoveAll: %v", err)
		}
	})
	must(t, am.EnsurePool("eng", prefix, 1))
	store, err := NewDir(filepath.Join(base, "gss"))
	must(t, err)
	cache, err := NewCache(filepath.Join(base, "cache"), New(store, Config{Node: "node-a", Logger: quiet()}))
	must(t, err)

	ctx := context.Background()
	users := []string{"alice", "bob"}
	history := map[string][]string{}
	last := map[string]string{}
	for i := range 100 {
		user, other := users[i%2], users[(i+1)%2]
		sid := fmt.Sprintf("s%03d", i)
		a, err := am.BindUser("eng", sid, user)
		must(t, err)
		must(t, am.PrepareHome(a))
		r, err := cache.Restore(ctx, user, a.Home, Owner{UID: int(a.UID), GID: int(a.GID)}, a.Warm)
		must(t, err)
		must(t, r.Wait())
		if i >= 2 && !r.FromCache {
			t.Errorf("session %d: restore did not use the node cache", i)
		}

		line := fmt.Sprintf("echo session %d", i)
		scratch := filepath.Join("/tmp", fmt.Sprintf("%s-%s-%d", prefix, user, i))
		res := runSession(t, bin, a, work{
			History: line, File: fmt.Sprintf("%s %d", user, i), Scratch: scratch,
			Probe: []string{filepath.Join("/tmp", fmt.Sprintf("%s-%s-%d", prefix, other, i-1)), filepath.Join(base, "cache"), filepath.Join(base, "gss")},
		})
		checkSession(t, i, user, res, history[user], last[user])
		history[user] = append(history[user], line)
		last[user] = fmt.Sprintf("%s %d", user, i)

		must(t, am.StopProcesses(sid, accounts.ReleaseOptions{}))
		_, _, err = cache.Save(ctx, user, a.Home, SaveOptions{Session: sid}, false)
		must(t, err)
		must(t, am.Release(sid))
		if pids, _ := accounts.ProcessesOf(a.UID); len(pids) != 0 {
			t.Fatalf("session %d: processes of %s left: %v", i, a.Name, pids)
		}
		if _, err := os.Lstat(scratch); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("session %d: scratch file left: %v", i, err)
		}
		if ents, _ := os.ReadDir(a.Home); len(ents) != 0 {
			t.Fatalf("session %d: home of %s not empty after release", i, a.Name)
		}
	}
	if v, _ := cache.Service().LatestVersion(ctx, "alice"); v != 50 {
		t.Errorf("alice has %d versions, want 50", v)
	}
}

func runSession(t *testing.T, bin string, a *accounts.Account, w work) workResult {
	t.Helper()
	in, _ := json.Marshal(w)
	cmd := exec.Command(bin)
	cmd.Dir = a.Home
	cmd.Env = []string{childEnv + "=work", "HOME=" + a.Home, "PATH=/usr/bin:/bin"}
	cmd.Stdin = bytes.NewReader(in)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: a.UID, Gid: a.GID}, Setsid: true}
	var out bytes.Buffer
	cmd.Stdout = &out
	runErr := cmd.Run()
	var res workResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("session as %s: %v %v: %q", a.Name, runErr, err, out.String())
	}
	if res.Err != "" {
		t.Fatalf("session as %s: %s", a.Name, res.Err)
	}
	return res
}

// checkSession: the user finds exactly their own files and history.
func checkSession(t *testing.T, i int, user string, res workResult, history []string, last string) {
	t.Helper()
	want := []string{}
	if last != "" {
		want = []string{".igrid_history", "mine.txt"}
	}
	if strings.Join(res.Listing, ",") != strings.Join(want, ",") {
		t.Fatalf("session %d (%s): home holds %v, want %v", i, user, res.Listing, want)
	}
	if len(res.Readable) != 0 {
		t.Fatalf("session %d (%s): could read %v", i, user, res.Readable)
	}
	if last == "" {
		return
	}
	if got := res.Content["mine.txt"]; got != last {
		t.Fatalf("session %d (%s): mine.txt = %q, want %q", i, user, got, last)
	}
	if got, want := res.Content[".igrid_history"], strings.Join(history, "\n")+"\n"; got != want {
		t.Fatalf("session %d (%s): history = %q, want %q", i, user, got, want)
	}
}
