package devgrid

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/igrid/igrid/drm/client"
	"github.com/igrid/igrid/internal/proto"
)

// makeUsers registers the demo user (with a fresh SSH key pair) and the
// admin user, and issues their API tokens.
func (g *Grid) makeUsers(ctx context.Context) error {
	in := &g.Info
	in.User, in.Password = "demo", randomSecret(8)
	in.AdminUser, in.AdminPassword = "admin", randomSecret(12)
	in.SSHKey = filepath.Join(g.cfg.DataDir, "demo_ed25519")
	pub, err := writeKeyPair(in.SSHKey, "demo@igrid-dev")
	if err != nil {
		return fmt.Errorf("demo key: %w", err)
	}
	if err := g.drm.CreateUser(ctx, in.User, in.Password, "engineering", false, []string{pub}); err != nil {
		return fmt.Errorf("demo user: %w", err)
	}
	if err := g.drm.CreateUser(ctx, in.AdminUser, in.AdminPassword, "engineering", true, nil); err != nil {
		return fmt.Errorf("admin user: %w", err)
	}
	if in.Token, err = g.drm.IssueToken(ctx, in.User); err != nil {
		return err
	}
	in.AdminToken, err = g.drm.IssueToken(ctx, in.AdminUser)
	return err
}

// waitNodes waits until the DRM sees every node online.
func (g *Grid) waitNodes(ctx context.Context) error {
	c := client.New(g.Info.APIURL, g.Info.Token)
	return poll(ctx, 15*time.Second, func() (bool, error) {
		ns, err := c.Nodes(ctx)
		if err != nil {
			return false, nil
		}
		online := 0
		for _, n := range ns {
			if n.Online {
				online++
			}
		}
		return online == len(g.nodes), nil
	}, "nodes online")
}

// bookDemo books a session for the demo user and waits until it runs.
func (g *Grid) bookDemo(ctx context.Context) error {
	c := client.New(g.Info.APIURL, g.Info.Token)
	s, err := c.RequestSession(ctx, proto.Template{UsageTime: proto.Duration(g.cfg.DemoUsage)})
	if err != nil {
		return fmt.Errorf("demo session: %w", err)
	}
	g.Info.DemoSession = s.ID
	err = poll(ctx, 20*time.Second, func() (bool, error) {
		if s, err = c.Session(ctx, s.ID); err != nil {
			return false, err
		}
		if s.State.Terminal() {
			return false, fmt.Errorf("demo session %s: %s", s.State, s.Reason)
		}
		return s.State == proto.StateRunning, nil
	}, "demo session running")
	if err != nil {
		return err
	}
	g.Info.SSHCommand = SSHCommand(g.Info.SSHKey, s)
	return nil
}

// SSHCommand is the OpenSSH command line that enters a running session.
func SSHCommand(key string, s *proto.Session) string {
	if s.Connect.SSH == nil {
		return ""
	}
	c := s.Connect.SSH
	return fmt.Sprintf("ssh -i %s -p %d -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null %s@%s",
		key, c.Port, c.User, c.Host)
}

// poll calls f every 50 ms until it reports done, fails, or the timeout passes.
func poll(ctx context.Context, timeout time.Duration, f func() (bool, error), what string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		done, err := f()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-t.C:
		}
	}
}
