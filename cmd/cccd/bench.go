package main

import "github.com/spf13/cobra"

var benches []func() *cobra.Command

// addBench registers a `cccd bench <thing>` subcommand; called from init functions.
func addBench(f func() *cobra.Command) { benches = append(benches, f) }

func init() {
	addCommand(func() *cobra.Command {
		cmd := &cobra.Command{Use: "bench", Short: "Measure throughput and latency; each prints a table"}
		for _, f := range benches {
			cmd.AddCommand(f())
		}
		return cmd
	})
}
