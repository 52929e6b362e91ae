package node

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/igrid/igrid/accounts"
	"github.com/igrid/igrid/gss"
	"github.com/igrid/igrid/internal/bus"
	gossh "golang.org/x/crypto/ssh"
)

// agentChildEnv makes the test binary run one node agent until killed
// (the kill -9 test), configured by the JSON in the variable.
const agentChildEnv = "IGRID_NODE_AGENT_CHILD"

type agentChildConfig struct {
	NATSURL, HomeRoot, DataDir, Tag, GSSDir, CacheDir string
}

// agentChild starts the agent, prints "ready <ssh addr>", and runs until
// it is killed.
func agentChild() int {
	var c agentChildConfig
	if err := json.Unmarshal([]byte(os.Getenv(agentChildEnv)), &c); err != nil {
		fmt.Println("bad config:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := New(Config{
		Name: "tn", Cluster: "test", NATSURL: c.NATSURL, SSHAddr: "127.0.0.1:0",
		HomeRoot: c.HomeRoot, DataDir: c.DataDir, PoliciesDir: "testdata/policies", AccountTag: c.Tag,
		Heartbeat: 100 * time.Millisecond, Logger: log,
	})
	if err == nil {
		var st *gss.Dir
		var cache *gss.Cache
		if st, err = gss.NewDir(c.GSSDir); err == nil {
			if cache, err = gss.NewCache(c.CacheDir, gss.New(st, gss.Config{Node: "tn", Logger: log})); err == nil {
				a.UseGSS(cache)
				err = a.Start()
			}
		}
	}
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = a.Ready(ctx)
		cancel()
	}
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("ready", a.SSHAddr())
	for {
		time.Sleep(time.Hour)
	}
}

// spawnAgent starts an agent process and waits for its SSH address.
func spawnAgent(t *testing.T, c agentChildConfig) (*exec.Cmd, string) {
	t.Helper()
	b, _ := json.Marshal(c)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), agentChildEnv+"="+string(b))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "ready ")
	if !ok {
		t.Fatalf("agent: %q %v", line, err)
	}
	return cmd, addr
}

// TestAgentKilledAndRestarted: kill -9 of the node agent during a running
// session, then a restart on the same state. The session is re-adopted
// (the user logs in again), ends on time, its files are saved and its
// account cleaned and freed.
func TestAgentKilledAndRestarted(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: sessions run as real dynamic accounts made with useradd")
	}
	ns, err := bus.StartEmbedded(bus.EmbeddedConfig{Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	dir := t.TempDir()
	for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		os.Chmod(d, 0o711)
	}
	c := agentChildConfig{NATSURL: ns.URL(), HomeRoot: filepath.Join(dir, "homes"), DataDir: filepath.Join(dir, "data"),
		Tag: randomTag(t), GSSDir: filepath.Join(dir, "gss"), CacheDir: filepath.Join(dir, "cache")}
	st, err := gss.NewDir(c.GSSDir)
	if err != nil {
		t.Fatal(err)
	}
	svc := gss.New(st, gss.Config{})
	if _, err := svc.PutFile(context.Background(), "frank", "hello.txt", strings.NewReader("hello from GSS\n")); err != nil {
		t.Fatal(err)
	}
	mgr := accounts.NewManager(accounts.Config{HomeRoot: c.HomeRoot, Tag: c.Tag, Logger: testLogger(t)})
	t.Cleanup(func() {
		if err := mgr.EnsurePool("tworker", "ignt", 2); err == nil {
			mgr.RemoveAll()
		}
	})

	first, addr := spawnAgent(t, c)
	n := &testNode{Agent: &Agent{cfg: Config{Name: "tn"}}}
	n.nc, err = bus.Connect(ns.URL(), "test-drm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.nc.Close)
	tn := newKeys(t, n)
	now := time.Now()
	end := now.Add(8 * time.Second)
	r := n.request(t, tn.startCmd("s-crash", "frank", now.Add(-time.Second), end))
	if r.Error != "" {
		t.Fatal(r.Error)
	}
	if got := runOver(t, tn, addr, "cat hello.txt"); got != "hello from GSS\n" {
		t.Fatalf("cat hello.txt in the session = %q, want the GSS file", got)
	}

	if err := mgr.EnsurePool("tworker", "ignt", 2); err != nil {
		t.Fatal(err)
	}
	acct, ok := mgr.Lookup("s-crash")
	if !ok {
		t.Fatal("no lease for the session")
	}
	// The user's background work: a program still running in an open
	// channel when the agent dies.
	bgClient := dialAs(t, tn, addr)
	bg, err := bgClient.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := bg.Start("sleep 1000"); err != nil {
		t.Fatal(err)
	}
	var work int
	checkFor(t, 10*time.Second, func() error {
		for _, pid := range pidsOf(acct.UID) {
			if cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.HasPrefix(string(cmdline), "sleep\x00") ||
				strings.Contains(string(cmdline), "/sleep\x00") {
				work = pid
				return nil
			}
		}
		return fmt.Errorf("the background sleep has not started: %v", pidsOf(acct.UID))
	})
	if cg := cgroupOf(work); !strings.HasSuffix(cg, "/igrid/s-crash") {
		t.Fatalf("the background work is in cgroup %q, not the session's", cg)
	}

	first.Process.Kill() // kill -9
	first.Wait()
	bgClient.Close()
	// The agent's death ends neither the work nor its confinement.
	if !alive(work, acct.UID) {
		t.Fatal("the background work died with the agent")
	}
	if cg := cgroupOf(work); !strings.HasSuffix(cg, "/igrid/s-crash") {
		t.Errorf("after the agent's death the work is in cgroup %q, not the session's", cg)
	}
	_, addr = spawnAgent(t, c)
	if _, ok := mgr.Lookup("s-crash"); !ok {
		t.Fatal("the session's lease did not survive the agent")
	}
	if !alive(work, acct.UID) {
		t.Fatal("the background work died at the agent's restart")
	}
	if cg := cgroupOf(work); !strings.HasSuffix(cg, "/igrid/s-crash") {
		t.Errorf("after the restart the work is in cgroup %q, not the session's", cg)
	}
	if got := runOver(t, tn, addr, "id -u"); strings.TrimSpace(got) != strconv.Itoa(int(acct.UID)) {
		t.Fatalf("id -u after the restart = %q, want %d: session not re-adopted", got, acct.UID)
	}
	checkFor(t, time.Until(end)+20*time.Second, func() error {
		if leases, err := mgr.Recover(); err != nil || len(leases) != 0 {
			return fmt.Errorf("leases after the end: %+v %v", leases, err)
		}
		return nil
	})
	if time.Now().Before(end) {
		t.Errorf("session ended at %v, before its end %v", time.Now(), end)
	}
	if pids := pidsOf(acct.UID); len(pids) != 0 {
		t.Errorf("processes of %s after the end: %v", acct.Name, pids)
	}
	if alive(work, acct.UID) {
		t.Errorf("the background work (pid %d) outlived the session", work)
	}
	if ents, _ := os.ReadDir(acct.Home); len(ents) != 0 {
		t.Errorf("home of %s not empty after the end", acct.Name)
	}
	if v, _ := svc.LatestVersion(context.Background(), "frank"); v != 2 {
		t.Errorf("GSS versions of frank = %d, want 2 (saved at the end)", v)
	}
	if _, err := os.Stat(filepath.Join(c.DataDir, "sessions", "s-crash.json")); !os.IsNotExist(err) {
		t.Errorf("session state left after the end: %v", err)
	}
	// The killed agent's session cgroup is taken over and removed at the end.
	for _, d := range []string{"/sys/fs/cgroup/pids/igrid/s-crash", "/sys/fs/cgroup/igrid/s-crash", "/sys/fs/cgroup/unified/igrid/s-crash"} {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("session cgroup %s left after the end", d)
		}
	}
}

// newKeys gives n an SSH key pair the way startNode does.
func newKeys(t *testing.T, n *testNode) *testNode {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	n.signer, n.pubKey = signer, string(gossh.MarshalAuthorizedKey(signer.PublicKey()))
	return n
}

// dialAs logs in to addr as frank with n's key, retrying while the agent
// starts.
func dialAs(t *testing.T, n *testNode, addr string) *gossh.Client {
	t.Helper()
	var cl *gossh.Client
	checkFor(t, 10*time.Second, func() error {
		var err error
		cl, err = gossh.Dial("tcp", addr, &gossh.ClientConfig{
			User: "frank", Auth: []gossh.AuthMethod{gossh.PublicKeys(n.signer)},
			HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second,
		})
		return err
	})
	return cl
}

// cgroupOf is pid's igrid cgroup path (in whichever hierarchy the node
// made session cgroups: v2, or v1 pids/memory/cpu), or all its lines.
func cgroupOf(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if i := strings.Index(l, ":/"); i >= 0 && strings.Contains(l[i:], "/igrid/") {
			return l[i+1:]
		}
	}
	return strings.TrimSpace(string(b))
}

// alive says whether pid is a live (not zombie) process of uid.
func alive(pid int, uid uint32) bool { return slices.Contains(pidsOf(uid), pid) }

func runOver(t *testing.T, n *testNode, addr, cmd string) string {
	t.Helper()
	cl := dialAs(t, n, addr)
	defer cl.Close()
	ss, err := cl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	// Stdout only: the enforcer may warn on stderr of a session this short.
	var stderr strings.Builder
	ss.Stderr = &stderr
	out, err := ss.Output(cmd)
	if err != nil {
		t.Fatalf("%s over ssh: %v: %s%s", cmd, err, out, stderr.String())
	}
	return string(out)
}
