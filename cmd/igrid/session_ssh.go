package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/igrid/igrid/internal/devgrid"
	"github.com/igrid/igrid/internal/proto"
	"github.com/spf13/cobra"
)

func sessionSSHCmd() *cobra.Command {
	var key string
	cmd := &cobra.Command{
		Use:   "ssh ID [-- COMMAND…]",
		Short: "Enter a running session with the system's OpenSSH client",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := fetchSession(cmd, args[0])
			if err != nil {
				return err
			}
			if s.State != proto.StateRunning || s.Connect.SSH == nil {
				return fmt.Errorf("session %s is %s, not running; nothing to enter yet", s.ID, s.State)
			}
			if key == "" {
				if in, err := devgrid.ReadInfo(devgrid.Default().DataDir); err == nil {
					key = in.SSHKey
				}
			}
			return execSSH(s.Connect.SSH, key, args[1:])
		},
	}
	cmd.Flags().StringVarP(&key, "identity", "i", "", "private key (default: the dev grid's demo key, else ssh's own)")
	return cmd
}

// execSSH replaces igrid with OpenSSH pointed at the session.
func execSSH(c *proto.SSHConnect, key string, command []string) error {
	bin, err := exec.LookPath("ssh")
	if err != nil {
		return fmt.Errorf("the OpenSSH client is not installed: %w", err)
	}
	argv := []string{"ssh", "-p", strconv.Itoa(c.Port)}
	if key != "" {
		argv = append(argv, "-i", key)
	}
	// Node host keys of a dev grid change with every data directory.
	argv = append(argv, "-o", "StrictHostKeyChecking=accept-new", c.User+"@"+c.Host)
	argv = append(argv, command...)
	return syscall.Exec(bin, argv, os.Environ())
}
