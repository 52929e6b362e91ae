package main

import (
	"fmt"

	"github.com/igrid/igrid/policies"
	"github.com/spf13/cobra"
)

// policyToolCmds are `igrid policy explain|show|diff|menu`; the work is in
// package policies (Explain, Show, Diff, DesktopMenu).
func policyToolCmds() []*cobra.Command {
	return []*cobra.Command{policyExplainCmd(), policyShowCmd(), policyDiffCmd(), policyMenuCmd()}
}

func policyDirFlag(cmd *cobra.Command) *string {
	return cmd.Flags().String("dir", ".igrid-dev/policies", "policies directory")
}

func policyExplainCmd() *cobra.Command {
	var req policies.ExplainRequest
	cmd := &cobra.Command{
		Use:   "explain (--class C | --user U [--group G]… [--vo V]) -- CMD ARGS…",
		Short: "Say whether a command is allowed, and the exact rule and file that decided",
		Args:  cobra.MinimumNArgs(1),
	}
	dir := policyDirFlag(cmd)
	cmd.Flags().StringVar(&req.Class, "class", "", "class to ask for")
	cmd.Flags().StringVar(&req.User, "user", "", "grid user, mapped to classes by users/groups/vo rules")
	cmd.Flags().StringSliceVar(&req.Groups, "group", nil, "the user's groups (repeat)")
	cmd.Flags().StringVar(&req.VO, "vo", "", "the user's virtual organisation")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		set, err := policies.LoadDir(*dir)
		if err != nil {
			return err
		}
		req.Argv = args
		e, err := policies.Explain(set, req)
		if err != nil {
			return err
		}
		fmt.Fprint(cmd.OutOrStdout(), e.String())
		if !e.Allowed {
			return fmt.Errorf("denied")
		}
		return nil
	}
	return cmd
}

func policyShowCmd() *cobra.Command {
	var class string
	cmd := &cobra.Command{
		Use:   "show --class C",
		Short: "Print a class's merged policy, each value annotated with where it came from",
		Args:  cobra.NoArgs,
	}
	dir := policyDirFlag(cmd)
	cmd.Flags().StringVar(&class, "class", "", "class to show")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		set, err := policies.LoadDir(*dir)
		if err != nil {
			return err
		}
		out, err := policies.Show(set, class)
		if err != nil {
			return err
		}
		fmt.Fprint(cmd.OutOrStdout(), out)
		return nil
	}
	return cmd
}

func policyDiffCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "Say what changes for each class between two policy directories",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := policies.DiffDirs(args[0], args[1])
			if err != nil {
				return err
			}
			fmt.Fprint(cmd.OutOrStdout(), out)
			return nil
		},
	}
}

func policyMenuCmd() *cobra.Command {
	var class, out string
	cmd := &cobra.Command{
		Use:   "menu --class C --out DIR",
		Short: "Write the controlled desktop's menu: only the applications the class may run",
		Args:  cobra.NoArgs,
	}
	dir := policyDirFlag(cmd)
	cmd.Flags().StringVar(&class, "class", "", "class")
	cmd.Flags().StringVar(&out, "out", ".", "where to write igrid-<class>.menu and applications/")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		set, err := policies.LoadDir(*dir)
		if err != nil {
			return err
		}
		c, ok := set.Class(class)
		if !ok {
			return &policies.UnknownClassError{Class: class}
		}
		hidden, err := policies.WriteDesktopMenu(c, out)
		if err != nil {
			return err
		}
		for _, h := range hidden {
			fmt.Fprintf(cmd.OutOrStdout(), "hidden: %s (%s): %s %s\n", h.App.ID, h.App.Exec, h.Decision.Reason, h.Decision.Rule)
		}
		return nil
	}
	return cmd
}
