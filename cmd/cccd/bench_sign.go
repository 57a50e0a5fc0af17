package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cccd-project/cccd/hsm"
	"github.com/cccd-project/cccd/hsm/signbench"
)

func init() { addBench(newBenchSignCmd) }

// newBenchSignCmd is `cccd bench sign`: signatures per second through SoftHSM2 and through
// the software key store.
func newBenchSignCmd() *cobra.Command {
	var cfg signbench.Config
	var algs string
	cmd := &cobra.Command{
		Use:   "sign",
		Short: "Signatures per second through a fresh SoftHSM2 token and the software key store",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, a := range strings.Split(algs, ",") {
				alg, err := hsm.ParseAlgorithm(strings.TrimSpace(a))
				if err != nil {
					return err
				}
				cfg.Algorithms = append(cfg.Algorithms, alg)
			}
			rows, err := signbench.Run(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			if global.json {
				return printJSON(rows)
			}
			tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "BACKEND\tOPERATION\tALGORITHM\tWORKERS\tSIGNATURES\tSECONDS\tSIGNATURES/S\t")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%.2f\t%.0f\t\n", r.Backend, r.Operation, r.Algorithm, r.Workers, r.Signatures, r.Seconds, r.PerSecond)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().DurationVar(&cfg.Duration, "duration", 0, "measuring time per row (default 3s)")
	cmd.Flags().IntVar(&cfg.Workers, "workers", 0, "concurrent signers (default: all cores)")
	cmd.Flags().StringVar(&algs, "algorithms", "ecdsa-p256,ecdsa-p384,rsa-3072", "comma-separated key algorithms")
	return cmd
}
