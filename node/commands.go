package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/igrid/igrid/accounts"
	"github.com/igrid/igrid/gish"
	"github.com/igrid/igrid/internal/proto"
	"github.com/igrid/igrid/policies"
	"github.com/nats-io/nats.go"
	gossh "golang.org/x/crypto/ssh"
)

// onCommand answers one DRM command; each runs in its own goroutine so a
// slow cleanup never delays other sessions.
func (a *Agent) onCommand(msg *nats.Msg) {
	go a.track(func() {
		reply := a.handle(msg.Data)
		b, _ := json.Marshal(reply)
		if err := msg.Respond(b); err != nil {
			a.log.Warn("command reply", "err", err)
		}
	})
}

// handle decodes and runs one command; errors become the reply's Error.
func (a *Agent) handle(data []byte) proto.CommandReply {
	var cmd proto.Command
	if err := json.Unmarshal(data, &cmd); err != nil {
		return proto.CommandReply{Error: fmt.Sprintf("bad command: %v", err)}
	}
	var reply proto.CommandReply
	var err error
	switch {
	case cmd.Op == proto.OpStart && cmd.Start != nil:
		reply, err = a.startSession(cmd.Start)
	case cmd.Op == proto.OpEnd && cmd.End != nil:
		err = a.endSession(cmd.End.SessionID, cmd.End.Reason)
	default:
		err = reason(ErrBadCommand, fmt.Sprintf("bad command: op %q without its body (want %q or %q)", cmd.Op, proto.OpStart, proto.OpEnd))
	}
	if err != nil {
		a.log.Warn("command refused", "op", cmd.Op, "err", err)
		return proto.CommandReply{Error: err.Error()}
	}
	return reply
}

// startSession binds an account for the session and opens it to logins.
// A start for a session already running answers as the first did. Any
// failure undoes what was done: no half-bound account.
func (a *Agent) startSession(st *proto.StartSession) (proto.CommandReply, error) {
	unlock := a.keys.lock(st.SessionID)
	defer unlock()
	if s := a.getSession(st.SessionID); s != nil {
		return s.reply, nil
	}
	class, keys, err := a.checkStart(st, time.Now())
	if err != nil {
		return proto.CommandReply{}, err
	}
	if class.AccountPool.Prefix == "" {
		return proto.CommandReply{}, fmt.Errorf("class %s has no account pool on this node (its policy sets no account_pool.prefix)", class.Name)
	}
	acct, err := a.accounts.BindUser(class.Name, st.SessionID, st.User)
	if err != nil {
		return proto.CommandReply{}, err
	}
	err = a.accounts.PrepareHome(acct)
	if err == nil {
		err = a.restoreData(st, acct)
	}
	if err == nil {
		err = a.gmma.sessionStarted(st.SessionID, acct.UID, acct.GID, acct.Home, st, class)
	}
	if err == nil {
		err = a.persistSession(st, acct.Name)
	}
	if err != nil {
		if gerr := a.gmma.sessionEnded(st.SessionID); gerr != nil {
			err = errors.Join(err, gerr)
		}
		if rerr := a.accounts.Release(st.SessionID); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return proto.CommandReply{}, fmt.Errorf("prepare home of %s: %w", acct.Name, err)
	}
	s := a.newSession(st, class, keys, acct)
	a.addSession(s)
	a.log.Info("session started", "session", st.SessionID, "user", st.User, "class", class.Name,
		"account", acct.Name, "end", st.End.UTC().Format(time.RFC3339))
	return s.reply, nil
}

// newSession is the node's record of a started (or re-adopted) session.
func (a *Agent) newSession(st *proto.StartSession, class *policies.Class, keys []gossh.PublicKey, acct *accounts.Account) *session {
	pol, polFile, err := a.writeSessionPolicy(st.SessionID, class.Name, acct.Home)
	if err != nil {
		// GISH then enforces gish.DefaultPolicy for the class: still the
		// allow-list and Landlock, without the class's extra rules.
		a.log.Error("session policy file", "session", st.SessionID, "err", err)
	}
	s := &session{
		binding: &gish.Binding{
			SessionID: st.SessionID, User: st.User, Account: acct.Name, Class: class.Name,
			Node: a.cfg.Name, Home: acct.Home, UID: acct.UID, GID: acct.GID,
			Start: st.Start, End: st.End, Executables: a.executables(class.Name),
			MaxProcesses: minNonZero(st.SLA.MaxProcesses, class.Session.MaxProcesses), AuthorizedKeys: keys,
			Policy: pol, PolicyFile: polFile, SACSocket: a.SACSocket(),
		},
		reply: proto.CommandReply{Account: acct.Name, Connect: proto.Connect{
			SSH: &proto.SSHConnect{Host: a.cfg.SSHHost, Port: a.sshPort, User: st.User},
		}},
	}
	return s
}

// checkStart validates a StartSession without changing anything.
func (a *Agent) checkStart(st *proto.StartSession, now time.Time) (*policies.Class, []gossh.PublicKey, error) {
	bad := func(format string, args ...any) error { return reason(ErrBadCommand, fmt.Sprintf(format, args...)) }
	switch {
	case st.SessionID == "":
		return nil, nil, bad("start: no session id")
	case !proto.ValidName(st.User):
		return nil, nil, bad("start %s: %q is not a user name", st.SessionID, st.User)
	case !st.End.After(st.Start):
		return nil, nil, bad("start %s: end %s is not after start %s", st.SessionID, st.End.Format(time.RFC3339), st.Start.Format(time.RFC3339))
	case !st.End.After(now):
		return nil, nil, bad("start %s: the window already ended at %s", st.SessionID, st.End.UTC().Format(time.RFC3339))
	}
	set := a.policy()
	class, ok := set.Class(st.Class)
	if !ok {
		return nil, nil, reason(ErrUnknownClass, fmt.Sprintf("start %s: unknown class %q (this node knows %s)",
			st.SessionID, st.Class, strings.Join(set.Names(), ", ")))
	}
	var keys []gossh.PublicKey
	for i, line := range st.AuthorizedKeys {
		k, _, _, _, err := gossh.ParseAuthorizedKey([]byte(line))
		if err != nil {
			return nil, nil, bad("start %s: authorized_keys[%d]: %v", st.SessionID, i, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		a.log.Warn("session without SSH keys: nobody can log in over SSH", "session", st.SessionID, "user", st.User)
	}
	return class, keys, nil
}

func poolSize(c *policies.Class) int {
	if c.AccountPool.Size > 0 {
		return c.AccountPool.Size
	}
	return DefaultPoolSize
}

// endSession closes the session's logins and processes, cleans its account
// and forgets it. Ending an unknown or ended session is a no-op.
func (a *Agent) endSession(id, why string) error {
	unlock := a.keys.lock(id)
	defer unlock()
	s := a.dropSession(id, time.Now())
	if s == nil {
		return nil
	}
	a.ssh.EndSession(id)
	// GMMA first: it kills what is in the session cgroup and removes it;
	// then the account's files are saved and the account is cleaned.
	a.removeSessionPolicy(id)
	a.removeStage(id)
	gerr := a.gmma.sessionEnded(id)
	err := errors.Join(gerr, a.finishSession(id, s.binding.User, s.binding.Home))
	a.cacheMoved.Store(true)
	if err != nil {
		err = fmt.Errorf("end %s: %w", id, err)
	}
	a.log.Info("session ended", "session", id, "user", s.binding.User, "account", s.binding.Account, "reason", why, "err", err)
	return err
}

func minNonZero(a, b int) int {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}
