package accounts

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ReservePolicy says when a class's account is kept for a frequent user
// (policy account_pool: N sessions in M days, hold time).
type ReservePolicy struct {
	Sessions int           // at least this many sessions on this node…
	Window   time.Duration // …within this window (counting the one ending) make a user frequent
	Hold     time.Duration // how long the account stays reserved for them; 0 = never reserve
}

// Reservation is an account held for a frequent user; heartbeats report
// them so the DRM's affinity pass can send the user back here.
type Reservation struct {
	Account, Class, User string
	Until                time.Time
}

// SetReservePolicy sets (or with a zero Hold, clears) class's reservation
// rule. It takes effect at the next Release.
func (m *Manager) SetReservePolicy(class string, p ReservePolicy) error {
	if p.Hold < 0 || p.Window < 0 || p.Sessions < 0 || (p.Hold > 0 && (p.Sessions < 1 || p.Window <= 0)) {
		return fmt.Errorf("class %s: reserve policy %+v: sessions must be ≥ 1 and window > 0 when hold > 0, nothing negative", class, p)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reservePolicy[class] = p
	return nil
}

// holdFor is how long l's account should be reserved for its user, 0 if
// the user is not frequent or the class does not reserve.
func (m *Manager) holdFor(l *Lease) time.Duration {
	m.mu.Lock()
	p := m.reservePolicy[l.Class]
	m.mu.Unlock()
	if l.User == "" || p.Hold <= 0 {
		return 0
	}
	if m.sessionsSince(l.User, time.Now().Add(-p.Window)) < p.Sessions {
		return 0
	}
	return p.Hold
}

// noteSession appends one session start of user to its history file.
func (m *Manager) noteSession(user string, at time.Time) {
	f, err := os.OpenFile(m.leases.path(dirHistory, userKey(user)), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		m.log.Warn("session history", "user", user, "err", err)
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%d\n", at.Unix()) // one short O_APPEND write: atomic across processes
}

// sessionsSince counts user's session starts at or after since.
func (m *Manager) sessionsSince(user string, since time.Time) int {
	f, err := os.Open(m.leases.path(dirHistory, userKey(user)))
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if t, err := strconv.ParseInt(strings.TrimSpace(sc.Text()), 10, 64); err == nil && t >= since.Unix() {
			n++
		}
	}
	return n
}

// reserve turns the session lease st of l into a reservation for l.User
// until now+hold. It fails (false) when the user already holds a
// reservation in the class.
func (m *Manager) reserve(l *Lease, hold time.Duration, st *syscall.Stat_t) bool {
	now := time.Now()
	res := &Lease{Account: l.Account, Class: l.Class, User: l.User, Since: now, Until: now.Add(hold)}
	tmp, err := m.leases.writeTmp(res)
	if err != nil {
		return false
	}
	defer os.Remove(tmp)
	name := m.leases.path(dirReserved, reservedKey(l.User, l.Class))
	if ok, err := linkOwned(tmp, name); err != nil || !ok {
		return false
	}
	lease := m.leases.path(dirLeases, l.Account)
	if !sameFile(lease, st) || os.Rename(tmp, lease) != nil {
		var rs syscall.Stat_t
		if syscall.Stat(name, &rs) == nil {
			_ = removeIfSame(name, &rs)
		}
		return false
	}
	return true
}

// Reserved lists the live reservations, for heartbeats.
func (m *Manager) Reserved() []Reservation {
	leases, _, err := m.leases.all()
	if err != nil {
		return nil
	}
	now := time.Now()
	var out []Reservation
	for _, l := range leases {
		if l.State == LeaseReserved && now.Before(l.Until) {
			out = append(out, Reservation{Account: l.Account, Class: l.Class, User: l.User, Until: l.Until})
		}
	}
	slices.SortFunc(out, func(a, b Reservation) int { return strings.Compare(a.Account, b.Account) })
	return out
}

// ExpireReservations frees every reservation whose hold time has passed:
// the account is cleaned (home emptied) and goes back to the pool. Bind
// also takes expired reservations when no account is free; this call
// keeps the user's files from staying on the node longer than the hold.
func (m *Manager) ExpireReservations() error {
	leases, sts, err := m.leases.all()
	if err != nil {
		return err
	}
	var errs []error
	now := time.Now()
	for i, l := range leases {
		if l.State != LeaseReserved || now.Before(l.Until) {
			continue
		}
		errs = append(errs, m.expire(l, sts[i]))
	}
	return joinErrs(errs)
}

func (m *Manager) expire(l *Lease, st *syscall.Stat_t) error {
	name := m.leases.path(dirReserved, reservedKey(l.User, l.Class))
	claim := m.leases.path(dirTmp, "expire-"+reservedKey(l.User, l.Class))
	if os.Rename(name, claim) != nil {
		return nil // claimed by a Bind meanwhile
	}
	defer os.Remove(claim)
	lease := m.leases.path(dirLeases, l.Account)
	if !sameFile(claim, st) || !sameFile(lease, st) {
		return nil
	}
	m.mu.Lock()
	s, ok := m.byName[l.Account]
	m.mu.Unlock()
	if !ok {
		return fmt.Errorf("reservation of account %s, which no pool of this manager holds", l.Account)
	}
	if err := m.cleanUntilDone(s.acct, ReleaseOptions{}, false); err != nil {
		err = fmt.Errorf("%w: account %s quarantined: %w", ErrCleanup, l.Account, err)
		return joinErrs([]error{err, m.leases.quarantine(l, err)})
	}
	m.log.Info("reservation expired", "account", l.Account, "user", l.User)
	return removeIfSame(lease, st)
}
