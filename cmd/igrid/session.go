package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/igrid/igrid/drm/client"
	"github.com/igrid/igrid/internal/proto"
	"github.com/spf13/cobra"
)

func sessionCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "session", Short: "Request, list, show and end sessions"}
	cmd.PersistentFlags().Bool("json", false, "print JSON")
	cmd.AddCommand(sessionRequestCmd(), sessionListCmd(), sessionShowCmd(), sessionEndCmd(), sessionSSHCmd())
	return cmd
}

func sessionRequestCmd() *cobra.Command {
	var t proto.Template
	var usage time.Duration
	var wait bool
	cmd := &cobra.Command{
		Use:   "request",
		Short: "Book a node for a time window",
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			t.UsageTime = proto.Duration(usage)
			s, err := c.RequestSession(cmd.Context(), t)
			if err != nil {
				return err
			}
			if wait {
				if s, err = waitRunning(cmd, c, s); err != nil {
					return err
				}
			}
			return printSession(cmd, s)
		},
	}
	f := cmd.Flags()
	f.DurationVar(&usage, "usage-time", 30*time.Minute, "length of the window")
	f.StringVar(&t.Start, "start", "", "start time, RFC 3339 (default now)")
	f.IntVar(&t.CPU.Cores, "cores", 0, "cores")
	f.IntVar(&t.MemoryMB, "memory-mb", 0, "memory in MB")
	f.IntVar(&t.DiskMB, "disk-mb", 0, "disk in MB")
	f.StringSliceVar(&t.Applications, "app", nil, "application the node must have (repeatable)")
	f.StringVar(&t.Node, "node", "", "ask for this node")
	f.StringVar(&t.OS.Vendor, "os-vendor", "", "OS vendor, e.g. debian")
	f.BoolVar(&wait, "wait", false, "wait until the session runs and print how to connect")
	return cmd
}

func waitRunning(cmd *cobra.Command, c *client.Client, s *proto.Session) (*proto.Session, error) {
	deadline := time.Now().Add(time.Until(s.Start) + time.Minute)
	for s.State != proto.StateRunning {
		if s.State.Terminal() {
			return s, fmt.Errorf("session %s is %s: %s", s.ID, s.State, s.Reason)
		}
		if time.Now().After(deadline) {
			return s, fmt.Errorf("session %s still %s", s.ID, s.State)
		}
		select {
		case <-cmd.Context().Done():
			return s, cmd.Context().Err()
		case <-time.After(200 * time.Millisecond):
		}
		var err error
		if s, err = c.Session(cmd.Context(), s.ID); err != nil {
			return s, err
		}
	}
	return s, nil
}

func sessionListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List your sessions",
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			ss, err := c.Sessions(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON(cmd) {
				return writeJSON(cmd.OutOrStdout(), ss)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 2, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATE\tNODE\tACCOUNT\tSTART\tEND\tREASON")
			for _, s := range ss {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.State, s.Node, s.Account,
					s.Start.Local().Format("15:04:05"), s.End.Local().Format("15:04:05"), s.Reason)
			}
			return tw.Flush()
		},
	}
}

func sessionShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show one session",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := fetchSession(cmd, args[0])
			if err != nil {
				return err
			}
			return printSession(cmd, s)
		},
	}
}

// fetchSession reads one session through the API the command points at.
func fetchSession(cmd *cobra.Command, id string) (*proto.Session, error) {
	c, err := apiClient(cmd)
	if err != nil {
		return nil, err
	}
	return c.Session(cmd.Context(), id)
}

func sessionEndCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "end ID",
		Short: "End a session now (or cancel a booked one)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			s, err := c.EndSession(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printSession(cmd, s)
		},
	}
}

func asJSON(cmd *cobra.Command) bool {
	v, _ := cmd.Flags().GetBool("json")
	return v
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printSession(cmd *cobra.Command, s *proto.Session) error {
	out := cmd.OutOrStdout()
	if asJSON(cmd) {
		return writeJSON(out, s)
	}
	fmt.Fprintf(out, "session %s: %s", s.ID, s.State)
	if s.Reason != "" {
		fmt.Fprintf(out, " (%s)", s.Reason)
	}
	fmt.Fprintf(out, "\n  node %s, account %s, class %s\n  window %s – %s\n", s.Node, s.Account, s.Class,
		s.Start.Local().Format(time.DateTime), s.End.Local().Format(time.DateTime))
	if c := s.Connect.SSH; c != nil && s.State == proto.StateRunning {
		fmt.Fprintf(out, "  connect: ssh -p %d %s@%s\n", c.Port, c.User, c.Host)
	}
	return nil
}
