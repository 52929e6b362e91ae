package devgrid

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/igrid/igrid/drm/client"
	"github.com/igrid/igrid/internal/proto"
)

// opensshArgs is the real OpenSSH client's command line for a dev session.
func opensshArgs(key string, port int, user string, extra ...string) []string {
	args := []string{"-i", key, "-p", strconv.Itoa(port), "-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR", user + "@127.0.0.1"}
	return append(args, extra...)
}

// TestOpenSSHClient enters a running session with the system's OpenSSH
// client, and is refused on a node where the user's session has not started.
func TestOpenSSHClient(t *testing.T) {
	sshBin, err := exec.LookPath("ssh")
	if err != nil {
		t.Skip("needs the OpenSSH client (make test installs openssh-client)")
	}
	g := startGrid(t, 2)
	ctx := context.Background()
	c := client.New(g.Info.APIURL, g.Info.Token)
	now, err := c.RequestSession(ctx, proto.Template{UsageTime: proto.Duration(10 * time.Minute), Node: "node-a"})
	if err != nil {
		t.Fatal(err)
	}
	later, err := c.RequestSession(ctx, proto.Template{UsageTime: proto.Duration(10 * time.Minute), Node: "node-b",
		Start: time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	if err != nil {
		t.Fatal(err)
	}
	now = waitState(t, c, now.ID, proto.StateRunning)
	if later.State != proto.StateScheduled {
		t.Fatalf("future session is %s, want scheduled", later.State)
	}
	port := now.Connect.SSH.Port
	out, err := exec.Command(sshBin, opensshArgs(g.Info.SSHKey, port, "demo", "echo openssh-$((40+2))")...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "openssh-42") {
		t.Errorf("ssh host cmd through OpenSSH: %q, %v", out, err)
	}
	tty := exec.Command(sshBin, opensshArgs(g.Info.SSHKey, port, "demo", "-tt")...)
	tty.Stdin = strings.NewReader("echo tty-$((3*3))\nexit\n")
	if out, err := tty.CombinedOutput(); err != nil || !strings.Contains(string(out), "tty-9") {
		t.Errorf("interactive OpenSSH session: %q, %v", out, err)
	}
	nodes, _ := c.Nodes(ctx)
	for _, n := range nodes {
		if n.Name != "node-b" {
			continue
		}
		out, err := exec.Command(sshBin, opensshArgs(g.Info.SSHKey, n.SSH.Port, "demo", "true")...).CombinedOutput()
		if err == nil {
			t.Errorf("login to node-b before the session starts was accepted: %q", out)
		}
	}
	if _, err := c.EndSession(ctx, now.ID); err != nil {
		t.Fatal(err)
	}
	waitState(t, c, now.ID, proto.StateEnded)
	if out, err := exec.Command(sshBin, opensshArgs(g.Info.SSHKey, port, "demo", "true")...).CombinedOutput(); err == nil {
		t.Errorf("login after the session ended was accepted: %q", out)
	}
}
