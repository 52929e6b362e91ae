package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/igrid/igrid/accounts"
	"github.com/igrid/igrid/gss"
	"github.com/igrid/igrid/internal/proto"
)

// DataTimeout bounds one save or restore of a user's home.
var DataTimeout = 5 * time.Minute

// UseGSS makes the agent restore each user's files from the GSS (through
// the node cache c) at session start and save them at session end. Call
// it between New and Start. Without it homes start empty and are not kept.
func (a *Agent) UseGSS(c *gss.Cache) { a.data = c }

// restoreData fills the bound account's home with the user's latest files;
// stale cached files arrive in the background, unreadable until fresh.
func (a *Agent) restoreData(st *proto.StartSession, acct *accounts.Account) error {
	if a.data == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), DataTimeout)
	defer cancel()
	r, err := a.data.Restore(ctx, st.User, acct.Home, gss.Owner{UID: int(acct.UID), GID: int(acct.GID)}, acct.Warm)
	if err != nil {
		return fmt.Errorf("restore files of %s: %w", st.User, err)
	}
	a.log.Info("user files restored", "session", st.SessionID, "user", st.User, "from_cache", r.FromCache,
		"fresh", r.Fresh, "stale", r.Stale, "removed", r.Removed)
	if r.Manifest != nil {
		if err := a.keepRestoredVars(st.SessionID, r.Manifest.Vars); err != nil {
			return fmt.Errorf("keep settings of %s: %w", st.User, err)
		}
	}
	go func() {
		if err := r.Wait(); err != nil {
			a.log.Error("refreshing stale files", "session", st.SessionID, "user", st.User, "err", err)
		}
	}()
	return nil
}

// finishSession stops the account's processes, saves the home to the GSS
// (keeping the tree in the node cache), releases the account and forgets
// the session's state. A save refused for quota is reported, and the
// account still released.
func (a *Agent) finishSession(id, user, home string) error {
	var errs []error
	if a.data != nil {
		errs = append(errs, a.accounts.StopProcesses(id, accounts.ReleaseOptions{}))
		errs = append(errs, a.saveData(id, user, home))
	}
	rerr := a.accounts.Release(id)
	if rerr == nil {
		a.forgetSession(id) // the account is clean: nothing left to re-adopt
	}
	return errors.Join(append(errs, rerr)...)
}

func (a *Agent) saveData(id, user, home string) error {
	var quota int64
	var vars map[string]string
	if st, err := a.loadSession(id); err == nil {
		quota = int64(st.Start.SLA.DiskMB) << 20
		vars = a.sessionVars(id, st.Start.Class, home)
	}
	ctx, cancel := context.WithTimeout(context.Background(), DataTimeout)
	defer cancel()
	m, stats, err := a.data.Save(ctx, user, home, gss.SaveOptions{Session: id, Quota: quota, Vars: vars}, false)
	if err != nil {
		return fmt.Errorf("save files of %s: %w", user, err)
	}
	a.log.Info("user files saved", "session", id, "user", user, "version", m.Version,
		"files", stats.Files, "bytes", stats.Bytes, "new_bytes", stats.NewBytes, "settings", len(vars))
	return nil
}

// Affinity is what the DRM's affinity pass wants from this node, as the
// heartbeat's ReservedAccounts and CachedUsers carry it: the grid users
// whose account is reserved here, and those whose cached files here are
// the latest version in GSS. Both sorted, without repeats.
func (a *Agent) Affinity(ctx context.Context) (reserved, cached []string, err error) {
	cached, err = a.freshCachedUsers(ctx)
	return a.reservedUsers(), cached, err
}

// reservedUsers are the users whose account is reserved here, sorted, once.
func (a *Agent) reservedUsers() []string {
	var out []string
	for _, r := range a.accounts.Reserved() {
		out = append(out, r.User)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// freshCachedUsers are the users whose cached files here are the latest
// version in GSS.
func (a *Agent) freshCachedUsers(ctx context.Context) ([]string, error) {
	if a.data == nil {
		return nil, nil
	}
	users, err := a.data.Users(ctx)
	var out []string
	for _, u := range users {
		if u.Fresh {
			out = append(out, u.User)
		}
	}
	return out, err
}

// ReservationSweep is how often expired account reservations are freed.
var ReservationSweep = time.Minute

// reservationLoop frees expired reservations (their homes emptied) until
// stop is closed, so a user's files never stay on the node past the hold.
func (a *Agent) reservationLoop(stop <-chan struct{}) {
	t := time.NewTicker(ReservationSweep)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if err := a.accounts.ExpireReservations(); err != nil {
				a.log.Error("expiring account reservations", "err", err)
			}
		}
	}
}
