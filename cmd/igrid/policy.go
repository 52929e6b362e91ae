package main

import (
	"errors"
	"fmt"

	"github.com/igrid/igrid/policies"
	"github.com/spf13/cobra"
)

func policyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Check and inspect class policy files"}
	cmd.AddCommand(&cobra.Command{
		Use:   "check DIR",
		Short: "Validate a policy directory; print every problem with file, line and key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := policies.LoadDir(args[0])
			var le *policies.LoadError
			if errors.As(err, &le) {
				for _, p := range le.Problems {
					fmt.Fprintln(cmd.ErrOrStderr(), p)
				}
				return fmt.Errorf("%s: %d problem(s); nothing loaded", args[0], len(le.Problems))
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d classes OK: %v\n", args[0], len(set.Names()), set.Names())
			return nil
		},
	})
	cmd.AddCommand(policyToolCmds()...)
	return cmd
}
