package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/igrid/igrid/drm/store/pgtest"
	"github.com/igrid/igrid/internal/proto"
	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func newTestPostgres(t *testing.T) Store {
	t.Helper()
	p, err := OpenPostgres(context.Background(), pgtest.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPostgres(t *testing.T) { RunSuite(t, newTestPostgres) }

func TestPostgresMigrationsIdempotent(t *testing.T) {
	ctx := context.Background()
	url := pgtest.DB(t)
	for range 2 {
		p, err := OpenPostgres(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		v, err := p.SchemaVersion(ctx)
		if err != nil || v != len(pgMigrations) {
			t.Fatalf("schema version %d, %v; want %d", v, err, len(pgMigrations))
		}
		p.Close()
	}
}

func TestPostgresHoldingStates(t *testing.T) {
	var want []string
	for _, s := range HoldingStates() {
		want = append(want, "'"+string(s)+"'")
	}
	if got := "ARRAY[" + strings.Join(want, ",") + "]"; got != pgHolding {
		t.Fatalf("pgHolding = %s, HoldingStates gives %s: add a migration that redefines the trigger", pgHolding, got)
	}
}

func TestIsPostgresURL(t *testing.T) {
	for _, c := range []struct {
		dsn  string
		want bool
	}{
		{"postgres://u@h/db", true}, {"postgresql://h/db", true}, {"/var/lib/igrid/drm.db", false}, {"", false},
	} {
		if got := IsPostgresURL(c.dsn); got != c.want {
			t.Errorf("IsPostgresURL(%q) = %v", c.dsn, got)
		}
	}
}

// rawInsert writes a session row with plain SQL, bypassing every Go check.
func rawInsert(ctx context.Context, conn *pgx.Conn, id, node, state string, start time.Time, d time.Duration, cores, mem int) error {
	_, err := conn.Exec(ctx, `INSERT INTO sessions (id, user_name, class, state, node, start_at, end_at,
		template, cores, memory_mb, created, updated) VALUES ($1, 'mallory', 'engineering', $2, $3, $4, $5, '{}', $6, $7, 0, 0)`,
		id, state, node, start.UnixNano(), start.Add(d).UnixNano(), cores, mem)
	return err
}

// TestPostgresRefusesOvercommit: the database itself refuses rows that
// over-commit a node at some instant, whoever writes them.
func TestPostgresRefusesOvercommit(t *testing.T) {
	ctx := context.Background()
	st := newTestPostgres(t).(*Postgres)
	defer st.Close()
	n := Node{Info: proto.NodeInfo{Name: "node-a", CPU: proto.CPU{Cores: 4}, MemoryMB: 1024}, LastSeen: suiteT0}
	if err := st.UpsertNode(ctx, n); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, st.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	h := time.Hour
	steps := []struct {
		name       string
		id, state  string
		start      time.Duration
		d          time.Duration
		cores, mem int
		refused    bool
	}{
		{"first fits", "r1", "running", 0, 2 * h, 2, 512, false},
		{"second fits exactly", "r2", "scheduled", h, 2 * h, 2, 512, false},
		{"one core too many at the overlap", "r3", "scheduled", 90 * time.Minute, h, 1, 0, true},
		{"memory too much", "r4", "scheduled", 30 * time.Minute, 10 * time.Minute, 0, 513, true},
		{"after both ends fits", "r5", "scheduled", 3 * h, h, 4, 1024, false},
		{"earlier neighbour", "r6", "scheduled", -2 * h, h, 2, 512, false},
		{"its successor", "r6b", "scheduled", -h, h, 2, 512, false},
		{"spanning both fits: the peak, not the sum, counts", "r6c", "scheduled", -2 * h, 2 * h, 2, 512, false},
		{"a third on top does not", "r6d", "scheduled", -90 * time.Minute, time.Minute, 1, 0, true},
		{"non-holding state is not checked", "r7", "denied", 0, h, 64, 0, false},
		{"unknown node is not checked", "r8", "scheduled", 0, h, 64, 0, false},
	}
	for _, c := range steps {
		t.Run(c.name, func(t *testing.T) {
			node := "node-a"
			if c.id == "r8" {
				node = "node-z"
			}
			err := rawInsert(ctx, conn, c.id, node, c.state, suiteT0.Add(c.start), c.d, c.cores, c.mem)
			if !c.refused {
				if err != nil {
					t.Fatalf("insert refused: %v", err)
				}
				return
			}
			if pgCode(err) != pgOvercommit || !strings.Contains(pgMessage(err), "node node-a over-committed") {
				t.Fatalf("insert %s: got %v, want the over-commit exception", c.id, err)
			}
		})
	}
	// Updates are checked too: growing r2 or making r7 hold would over-commit.
	if _, err := conn.Exec(ctx, `UPDATE sessions SET cores = 3 WHERE id = 'r2'`); pgCode(err) != pgOvercommit {
		t.Errorf("growing r2: got %v, want the over-commit exception", err)
	}
	if _, err := conn.Exec(ctx, `UPDATE sessions SET state = 'scheduled' WHERE id = 'r7'`); pgCode(err) != pgOvercommit {
		t.Errorf("r7 denied → scheduled: got %v, want the over-commit exception", err)
	}
	// So is the Go InsertSession path, which has no check of its own.
	s := suiteSession("s-go", "alice", suiteT0, time.Hour, 3, 0)
	s.State, s.Node = proto.StateScheduled, "node-a"
	if err := st.InsertSession(ctx, s); pgCode(err) != pgOvercommit {
		t.Errorf("InsertSession over capacity: got %v", err)
	}
}

// lenientAdmitter admits everything, so only the database can refuse.
type lenientAdmitter struct{}

func (lenientAdmitter) Admit(Candidate, Capacity, Capacity) string { return "" }

// TestPostgresReserveMapsTriggerRefusal: a Go admission bug cannot
// over-commit; the refusal comes back as a *ReserveError.
func TestPostgresReserveMapsTriggerRefusal(t *testing.T) {
	ctx := context.Background()
	st := newTestPostgres(t)
	defer st.Close()
	cands := []Candidate{{Node: "node-a", Capacity: Capacity{Cores: 2, MemoryMB: 1024}},
		{Node: "node-b", Capacity: Capacity{Cores: 1, MemoryMB: 1024}}}
	for i, want := range []string{"node-a", "node-b", ""} {
		s := suiteSession(fmt.Sprintf("s-%d", i), "alice", suiteT0, time.Hour, 2-min(i, 1), 0)
		node, err := st.Reserve(ctx, s, cands, lenientAdmitter{})
		if want != "" {
			if err != nil || node != want {
				t.Fatalf("reserve %d = %q, %v; want %s", i, node, err, want)
			}
			continue
		}
		var re *ReserveError
		if !errors.As(err, &re) || len(re.Rejections) != 2 ||
			!strings.HasPrefix(re.Rejections[0].Reason, "refused by the database: node node-a over-committed") {
			t.Fatalf("reserve %d: %v; want a *ReserveError from the trigger", i, err)
		}
		if _, err := st.Session(ctx, s.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("refused reservation left a row: %v", err)
		}
	}
}

func TestPostgresTransitionRowsAffected(t *testing.T) {
	// Transition must see concurrent changes (CAS) on PostgreSQL as on SQLite.
	ctx := context.Background()
	st := newTestPostgres(t)
	defer st.Close()
	s := suiteSession("s-x", "alice", suiteT0, time.Hour, 1, 0)
	s.State = proto.StateScheduled
	if err := st.InsertSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	states := []proto.State{}
	for _, to := range []proto.State{proto.StateStarting, proto.StateRunning} {
		got, err := st.Transition(ctx, "s-x", map[proto.State]proto.State{
			proto.StateStarting: proto.StateScheduled, proto.StateRunning: proto.StateStarting}[to], Change{To: to})
		if err != nil {
			t.Fatal(err)
		}
		states = append(states, got.State)
	}
	if !slices.Equal(states, []proto.State{proto.StateStarting, proto.StateRunning}) {
		t.Fatalf("states %v", states)
	}
}
