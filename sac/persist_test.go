package sac_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/igrid/igrid/sac"
	"golang.org/x/sys/unix"
)

// TestServerManyRequestsPerConnection: one connection carries many
// request lines, each answered in order, the caller identified once.
func TestServerManyRequestsPerConnection(t *testing.T) {
	sock, audit := startServer(t, &uidMap{m: map[uint32]string{uint32(os.Getuid()): "s-1"}}, sac.Current{CPUPercent: 10})
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	for i, app := range []string{"python3", "vim", "python3", "ls"} {
		fmt.Fprintf(c, `{"app":%q}`+"\n", app)
		var d sac.Decision
		line, err := r.ReadBytes('\n')
		if err != nil || json.Unmarshal(line, &d) != nil {
			t.Fatalf("reply %d: %q, %v", i, line, err)
		}
		if d.App != app || d.Session != "s-1" || !d.Allow {
			t.Fatalf("reply %d = %+v, want %s admitted for s-1", i, d, app)
		}
	}
	auditCount(t, audit, 4)
	// A bad line is answered and ends the connection.
	fmt.Fprint(c, "hello\n")
	var d sac.Decision
	if line, _ := r.ReadBytes('\n'); json.Unmarshal(line, &d) != nil || d.Reason != sac.ReasonBadRequest {
		t.Fatalf("bad line: reply %q", line)
	}
	if _, err := r.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("connection still open after a bad line: %v", err)
	}
}

// TestClientReconnects: a Client whose connection broke (server restarted
// on the same path) dials again and gets its answer.
func TestClientReconnects(t *testing.T) {
	uids := &uidMap{m: map[uint32]string{uint32(os.Getuid()): "s-1"}}
	dir := t.TempDir()
	path := filepath.Join(dir, "sac.sock")
	start := func() *sac.Server {
		ctl, _ := sac.New(sac.Config{State: staticState{"s-1": {sac.Limits{}, sac.Current{}}}})
		srv, err := sac.NewServer(sac.ServerConfig{Path: path, Controller: ctl, Sessions: uids})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		return srv
	}
	srv := start()
	cl := sac.NewClient(path)
	defer cl.Close()
	for i := 0; i < 3; i++ {
		if d, err := cl.Ask("vim", nil); err != nil || !d.Allow {
			t.Fatalf("ask %d: %+v, %v", i, d, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Ask("vim", nil); err == nil {
		t.Fatal("ask with no server answered")
	}
	srv = start()
	defer srv.Shutdown(context.Background())
	if d, err := cl.Ask("vim", nil); err != nil || !d.Allow {
		t.Fatalf("ask after restart: %+v, %v", d, err)
	}
}

// TestServerStage: a stage request carries one open file; the Stage
// function reads it and the reply names the copy.
func TestServerStage(t *testing.T) {
	src := filepath.Join(t.TempDir(), "prog")
	os.WriteFile(src, []byte("program bytes"), 0o755)
	var got []string
	stage := func(session, name string, f *os.File, sig []byte) (string, error) {
		b, err := io.ReadAll(f)
		if err != nil {
			return "", err
		}
		got = append(got, session+"|"+name+"|"+string(b)+"|"+string(sig))
		if string(sig) == "bad" {
			return "", errors.New("is not signed by a signer the class trusts")
		}
		return "/staged/" + name, nil
	}
	uids := &uidMap{m: map[uint32]string{uint32(os.Getuid()): "s-1"}}
	sock, _ := startServerWith(t, uids, sac.Current{}, stage)
	cl := sac.NewClient(sock)
	defer cl.Close()
	f, _ := os.Open(src)
	defer f.Close()
	d, err := cl.Stage("prog", f, []byte("good"))
	if err != nil || !d.Allow || d.Path != "/staged/prog" || d.Reason != sac.ReasonStaged {
		t.Fatalf("stage: %+v, %v", d, err)
	}
	f.Seek(0, 0)
	d, _ = cl.Stage("prog", f, []byte("bad"))
	if d.Allow || d.Reason != sac.ReasonStageRefused || !strings.Contains(d.Message, "not signed") {
		t.Fatalf("bad signature: %+v", d)
	}
	if len(got) != 2 || got[0] != "s-1|prog|program bytes|good" {
		t.Fatalf("Stage saw %q", got)
	}
	// Admissions on the same connection still work.
	if d, err := cl.Ask("vim", nil); err != nil || !d.Allow {
		t.Fatalf("ask after stage: %+v, %v", d, err)
	}
	t.Run("no descriptor", func(t *testing.T) {
		c, _ := net.Dial("unix", sock)
		defer c.Close()
		fmt.Fprint(c, `{"op":"stage","app":"prog","sig":"x"}`+"\n")
		var d sac.Decision
		json.NewDecoder(c).Decode(&d)
		if d.Allow || d.Reason != sac.ReasonBadRequest || !strings.Contains(d.Message, "exactly one open file") {
			t.Fatalf("reply %+v", d)
		}
	})
	t.Run("two descriptors", func(t *testing.T) {
		c, _ := net.Dial("unix", sock)
		defer c.Close()
		line := []byte(`{"op":"stage","app":"prog","sig":"x"}` + "\n")
		c.(*net.UnixConn).WriteMsgUnix(line, unix.UnixRights(int(f.Fd()), int(f.Fd())), nil)
		var d sac.Decision
		json.NewDecoder(c).Decode(&d)
		if d.Allow || d.Reason != sac.ReasonBadRequest {
			t.Fatalf("reply %+v", d)
		}
	})
	t.Run("node without stager", func(t *testing.T) {
		sock2, _ := startServer(t, uids, sac.Current{})
		cl2 := sac.NewClient(sock2)
		defer cl2.Close()
		d, err := cl2.Stage("prog", f, []byte("good"))
		if err != nil || d.Allow || d.Reason != sac.ReasonNoStager {
			t.Fatalf("reply %+v, %v", d, err)
		}
	})
	t.Run("unknown op", func(t *testing.T) {
		c, _ := net.Dial("unix", sock)
		defer c.Close()
		fmt.Fprint(c, `{"op":"exec","app":"prog"}`+"\n")
		var d sac.Decision
		json.NewDecoder(c).Decode(&d)
		if d.Reason != sac.ReasonBadRequest || !strings.Contains(d.Message, `"exec"`) {
			t.Fatalf("reply %+v", d)
		}
	})
}
