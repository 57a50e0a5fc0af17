package main

import (
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"
)

var benches []func() *cobra.Command

// addBench registers a `cccd bench <thing>` subcommand; called from init functions.
func addBench(f func() *cobra.Command) { benches = append(benches, f) }

func init() {
	addCommand(func() *cobra.Command {
		var profile string
		var f *os.File
		cmd := &cobra.Command{
			Use:   "bench",
			Short: "Measure throughput and latency; each prints a table",
			PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
				if profile == "" {
					return nil
				}
				var err error
				if f, err = os.Create(profile); err != nil {
					return err
				}
				return pprof.StartCPUProfile(f)
			},
			PersistentPostRun: func(cmd *cobra.Command, _ []string) {
				if f != nil {
					pprof.StopCPUProfile()
					f.Close()
				}
			},
		}
		cmd.PersistentFlags().StringVar(&profile, "cpuprofile", "", "write a CPU profile of the controller to this file")
		for _, b := range benches {
			cmd.AddCommand(b())
		}
		return cmd
	})
}
