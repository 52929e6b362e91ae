// Command igrid is the one binary of the interactive grid: the DRM, the node
// agent, the dev grid, GISH's re-exec entry and the user's CLI. It only parses
// flags and wires packages; the work happens in the packages it calls.
package main

import (
	"fmt"
	"os"

	"github.com/igrid/igrid/gish"
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	gish.MaybeReexec() // `igrid gish` runs as the dynamic account: no cobra, no flags.
	if err := rootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "igrid:", err)
		os.Exit(1)
	}
}

func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "igrid",
		Short:         "igrid — book a grid node for a time window and work on it through a controlled shell",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("api", "", "DRM API URL (default: $IGRID_API, saved login, or .igrid-dev/dev.json)")
	root.PersistentFlags().String("token", "", "API token (default: $IGRID_TOKEN, saved login, or .igrid-dev/dev.json)")
	root.AddCommand(devCmd(), drmCmd(), nodeCmd(), aggregatorCmd(), gishCmd(), loginCmd(), sessionCmd(), policyCmd(), signCmd(), versionCmd())
	addBench(root, benchSchedCmd())
	return root
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), "igrid", version) },
	}
}

func gishCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "gish",
		Short:  "GISH re-exec entry (internal: started by the node agent as the dynamic account)",
		Hidden: true,
		Run:    func(*cobra.Command, []string) { os.Exit(gish.ChildMain()) },
	}
}
