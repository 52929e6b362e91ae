package accounts

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestReservedPool(t *testing.T) {
	m := newTestManager(t, true, "")
	must(t, m.EnsurePool("eng", "igt", 2))
	must(t, m.SetReservePolicy("eng", ReservePolicy{Sessions: 2, Window: time.Hour, Hold: time.Hour}))

	// First session: alice is not frequent yet, the account is emptied.
	a, err := m.BindUser("eng", "s1", "alice")
	must(t, err)
	must(t, os.WriteFile(filepath.Join(a.Home, "mine"), []byte("alice"), 0o600))
	must(t, m.Release("s1"))
	wantEmptyHome(t, a.Home, a.UID)
	if r := m.Reserved(); len(r) != 0 {
		t.Fatalf("reserved after one session: %+v", r)
	}

	// Second session within the window: the account is kept for her.
	a, err = m.BindUser("eng", "s2", "alice")
	must(t, err)
	must(t, os.WriteFile(filepath.Join(a.Home, "mine"), []byte("alice"), 0o600))
	must(t, m.Release("s2"))
	r := m.Reserved()
	if len(r) != 1 || r[0].User != "alice" || r[0].Account != a.Name || time.Until(r[0].Until) < 50*time.Minute {
		t.Fatalf("Reserved = %+v, want %s held for alice for an hour", r, a.Name)
	}

	// Bob gets the other account, and then none.
	b, err := m.BindUser("eng", "s3", "bob")
	must(t, err)
	if b.Name == a.Name || b.Warm {
		t.Fatalf("bob got %+v, not the free account", b)
	}
	if _, err := m.BindUser("eng", "s4", "carol"); !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("carol's bind = %v, want exhausted (one bound, one reserved)", err)
	}

	// Alice comes back (a restarted agent, even) and finds her home as she left it.
	m2 := reopen(t, m, "igt", 2)
	if l := must1(m2.Recover()); len(l) != 2 {
		t.Errorf("Recover = %+v, want bob's lease and alice's reservation", l)
	}
	back, err := m2.BindUser("eng", "s5", "alice")
	must(t, err)
	if back.Name != a.Name || !back.Warm {
		t.Fatalf("alice back on %+v, want warm %s", back, a.Name)
	}
	must(t, m2.PrepareHome(back))
	if got, err := os.ReadFile(filepath.Join(back.Home, "mine")); err != nil || string(got) != "alice" {
		t.Errorf("alice's file after coming back: %q %v", got, err)
	}
	if r := m2.Reserved(); len(r) != 0 {
		t.Errorf("Reserved while alice is bound: %+v", r)
	}
}

func TestExpiredReservation(t *testing.T) {
	m := newTestManager(t, true, "")
	must(t, m.EnsurePool("eng", "igt", 1))
	must(t, m.SetReservePolicy("eng", ReservePolicy{Sessions: 1, Window: time.Hour, Hold: time.Millisecond}))
	a, err := m.BindUser("eng", "s1", "alice")
	must(t, err)
	must(t, os.WriteFile(filepath.Join(a.Home, "mine"), []byte("alice"), 0o600))
	must(t, m.Release("s1"))
	checkFor(t, time.Second, func() error {
		if len(m.Reserved()) != 0 {
			return errors.New("reservation not expired yet")
		}
		return nil
	})
	// Bob takes the account of the expired reservation, cold.
	b, err := m.BindUser("eng", "s2", "bob")
	must(t, err)
	if b.Name != a.Name || b.Warm {
		t.Fatalf("bob got %+v, want the expired %s, not warm", b, a.Name)
	}
	must(t, m.PrepareHome(b))
	wantEmptyHome(t, b.Home, b.UID)
	must(t, m.Release("s2")) // bob is frequent too now; expire his with the sweeper
	checkFor(t, time.Second, func() error {
		must(t, m.ExpireReservations())
		if l := must1(m.Recover()); len(l) != 0 {
			return errors.New("lease still held")
		}
		return nil
	})
	wantEmptyHome(t, b.Home, b.UID)
}

func TestReservePolicyRejected(t *testing.T) {
	m := newTestManager(t, true, "")
	for _, p := range []ReservePolicy{{Hold: time.Hour}, {Sessions: 1, Hold: time.Hour}, {Sessions: -1}, {Hold: -1}} {
		if err := m.SetReservePolicy("eng", p); err == nil {
			t.Errorf("SetReservePolicy(%+v) accepted", p)
		}
	}
}
