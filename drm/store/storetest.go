package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/igrid/igrid/internal/proto"
)

// RunSuite runs the behaviour every Store backend must show. newStore
// returns a fresh, empty store; the suite closes it. A PostgreSQL backend
// reuses this suite unchanged.
func RunSuite(t *testing.T, newStore func(t *testing.T) Store) {
	t.Run("Users", func(t *testing.T) { suiteUsers(t, newStore(t)) })
	t.Run("Tokens", func(t *testing.T) { suiteTokens(t, newStore(t)) })
	t.Run("Nodes", func(t *testing.T) { suiteNodes(t, newStore(t)) })
	t.Run("Sessions", func(t *testing.T) { suiteSessions(t, newStore(t)) })
	t.Run("Reserve", func(t *testing.T) { suiteReserve(t, newStore) })
	t.Run("Transition", func(t *testing.T) { suiteTransition(t, newStore(t)) })
	t.Run("ConcurrentReserve", func(t *testing.T) { suiteConcurrentReserve(t, newStore(t)) })
	t.Run("ConcurrentTransition", func(t *testing.T) { suiteConcurrentTransition(t, newStore(t)) })
	runBookSuite(t, newStore)
}

// suiteAdmitter is the plain capacity check: demand plus reserved must not
// exceed the candidate's capacity.
type suiteAdmitter struct{}

func (suiteAdmitter) Admit(c Candidate, reserved, demand Capacity) string {
	if free := c.Capacity.Cores - reserved.Cores; demand.Cores > free {
		return fmt.Sprintf("cores %d > free %d", demand.Cores, free)
	}
	if free := c.Capacity.MemoryMB - reserved.MemoryMB; demand.MemoryMB > free {
		return fmt.Sprintf("memory %d MB > free %d MB", demand.MemoryMB, free)
	}
	return ""
}

var suiteT0 = time.Date(2030, 1, 2, 10, 0, 0, 0, time.UTC)

func suiteSession(id, user string, start time.Time, d time.Duration, cores, mem int) Session {
	return Session{
		Session: proto.Session{
			ID: id, User: user, Class: "engineering", State: proto.StateRequested,
			Start: start, End: start.Add(d),
			Template: proto.Template{MemoryMB: mem, CPU: proto.CPU{Cores: cores}, UsageTime: proto.Duration(d)},
		},
		Cores: cores, MemoryMB: mem, Created: start, Updated: start,
	}
}

func suiteUser(t *testing.T, st Store, name string) {
	t.Helper()
	if err := st.CreateUser(context.Background(), User{Name: name, PasswordHash: "x", Class: "engineering", Created: suiteT0}); err != nil {
		t.Fatalf("CreateUser %s: %v", name, err)
	}
}

func suiteUsers(t *testing.T, st Store) {
	defer st.Close()
	ctx := context.Background()
	u := User{Name: "alice", PasswordHash: "$2a$hash", Class: "finance", Admin: true, Created: suiteT0,
		SSHKeys: []string{"ssh-ed25519 AAAA alice@a"}}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateUser(ctx, u); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate user: got %v, want ErrExists", err)
	}
	if err := st.AddSSHKey(ctx, "alice", "ssh-ed25519 BBBB alice@b"); err != nil {
		t.Fatal(err)
	}
	if err := st.AddSSHKey(ctx, "alice", "ssh-ed25519 BBBB alice@b"); err != nil {
		t.Fatalf("re-adding a key: %v", err)
	}
	if err := st.AddSSHKey(ctx, "nobody", "ssh-ed25519 CCCC"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("key for unknown user: got %v, want ErrNotFound", err)
	}
	got, err := st.User(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got.Class != "finance" || !got.Admin || got.PasswordHash != u.PasswordHash || !got.Created.Equal(suiteT0) {
		t.Errorf("User = %+v", got)
	}
	if len(got.SSHKeys) != 2 || got.SSHKeys[1] != "ssh-ed25519 BBBB alice@b" {
		t.Errorf("SSHKeys = %q", got.SSHKeys)
	}
	if _, err := st.User(ctx, "bob"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown user: got %v, want ErrNotFound", err)
	}
}

func suiteTokens(t *testing.T, st Store) {
	defer st.Close()
	ctx := context.Background()
	suiteUser(t, st, "alice")
	tok := Token{Hash: "abc", User: "alice", Created: suiteT0, Expires: suiteT0.Add(time.Hour)}
	if err := st.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, hash string
		now        time.Time
		want       string
	}{
		{"valid", "abc", suiteT0.Add(time.Minute), "alice"},
		{"expired", "abc", suiteT0.Add(2 * time.Hour), ""},
		{"unknown", "zzz", suiteT0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := st.TokenUser(ctx, c.hash, c.now)
			if c.want == "" {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("got %q, %v; want ErrNotFound", got, err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

func suiteNodes(t *testing.T, st Store) {
	defer st.Close()
	ctx := context.Background()
	for _, name := range []string{"node-b", "node-a"} {
		n := Node{Info: proto.NodeInfo{Name: name, MemoryMB: 1024, CPU: proto.CPU{Cores: 2}}, LastSeen: suiteT0, SSHHost: "127.0.0.1", SSHPort: 2201}
		if err := st.UpsertNode(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	upd := Node{Info: proto.NodeInfo{Name: "node-a", MemoryMB: 2048, CPU: proto.CPU{Cores: 4}}, LastSeen: suiteT0.Add(time.Minute), SSHPort: 2202}
	if err := st.UpsertNode(ctx, upd); err != nil {
		t.Fatal(err)
	}
	nodes, err := st.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 2 || nodes[0].Info.Name != "node-a" || nodes[1].Info.Name != "node-b" {
		t.Fatalf("Nodes = %+v", nodes)
	}
	if a := nodes[0]; a.Info.MemoryMB != 2048 || a.SSHPort != 2202 || !a.LastSeen.Equal(suiteT0.Add(time.Minute)) {
		t.Errorf("node-a not updated: %+v", a)
	}
}

func suiteSessions(t *testing.T, st Store) {
	defer st.Close()
	ctx := context.Background()
	a := suiteSession("s-a", "alice", suiteT0, time.Hour, 1, 256)
	a.State, a.Reason = proto.StateDenied, "no node fits"
	b := suiteSession("s-b", "bob", suiteT0.Add(time.Second), time.Hour, 2, 0)
	b.State = proto.StateScheduled
	for _, s := range []Session{a, b} {
		if err := st.InsertSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.InsertSession(ctx, a); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate id: got %v, want ErrExists", err)
	}
	got, err := st.Session(ctx, "s-a")
	if err != nil {
		t.Fatal(err)
	}
	if got.Reason != "no node fits" || got.Template.MemoryMB != 256 || !got.End.Equal(suiteT0.Add(time.Hour)) || got.Cores != 1 {
		t.Errorf("Session = %+v", got)
	}
	if _, err := st.Session(ctx, "s-x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown session: got %v", err)
	}
	filters := []struct {
		name string
		f    SessionFilter
		want []string
	}{
		{"all", SessionFilter{}, []string{"s-a", "s-b"}},
		{"user", SessionFilter{User: "bob"}, []string{"s-b"}},
		{"state", SessionFilter{States: []proto.State{proto.StateDenied, proto.StateEnded}}, []string{"s-a"}},
		{"none", SessionFilter{User: "alice", States: []proto.State{proto.StateRunning}}, nil},
		{"latest", SessionFilter{Latest: 1}, []string{"s-b"}},
		{"start by", SessionFilter{StartBy: suiteT0}, []string{"s-a"}},
	}
	for _, c := range filters {
		t.Run(c.name, func(t *testing.T) {
			list, err := st.Sessions(ctx, c.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, s := range list {
				ids = append(ids, s.ID)
			}
			if strings.Join(ids, ",") != strings.Join(c.want, ",") {
				t.Errorf("ids = %v, want %v", ids, c.want)
			}
		})
	}
	counts, err := st.CountSessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts[proto.StateDenied] != 1 || counts[proto.StateScheduled] != 1 {
		t.Errorf("CountSessions = %v", counts)
	}
}
