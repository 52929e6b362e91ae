package gish

import (
	"bytes"
	"time"

	"github.com/gliderlabs/ssh"
)

type ctxKey int

const bindingKey ctxKey = iota

// checkKey admits a login only for the grid user bound to a session on
// this node, inside its window, with a key the DRM registered for them.
func (s *Server) checkKey(ctx ssh.Context, key ssh.PublicKey) bool {
	b, err := s.cfg.Authorizer.Lookup(ctx.User(), time.Now())
	if err != nil {
		s.log.Info("ssh login refused", "user", ctx.User(), "remote", ctx.RemoteAddr().String(), "reason", err.Error())
		return false
	}
	want := key.Marshal()
	for _, k := range b.AuthorizedKeys {
		if bytes.Equal(k.Marshal(), want) {
			ctx.SetValue(bindingKey, b)
			return true
		}
	}
	s.log.Info("ssh login refused", "user", ctx.User(), "session", b.SessionID, "reason", "key not registered for the user")
	return false
}

// banner tells a refused user why before authentication fails, so that
// OpenSSH shows a reason and not only "Permission denied".
func (s *Server) banner(ctx ssh.Context) string {
	if _, err := s.cfg.Authorizer.Lookup(ctx.User(), time.Now()); err != nil {
		return "igrid: login refused: " + err.Error() + "\n"
	}
	return ""
}

func bindingOf(ctx ssh.Context) *Binding {
	b, _ := ctx.Value(bindingKey).(*Binding)
	return b
}
