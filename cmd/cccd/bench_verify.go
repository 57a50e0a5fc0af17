package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cccd-project/cccd/personalization/verify/verifytest"
)

func init() { addBench(newBenchVerifyCmd) }

// newBenchVerifyCmd is `cccd bench verify`: issue a good virtual card and verify it over
// and over, in process and through pcscd, printing p50/p95 per step.
func newBenchVerifyCmd() *cobra.Command {
	var cfg verifytest.BenchConfig
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Time a full counter verification (PACE, read all, CA, AA, PA) in process and through pcscd",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := verifytest.Bench(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			if global.json {
				return printJSON(res)
			}
			fmt.Printf("profile %s, %d bytes on the card\n", res.Profile, res.Bytes)
			tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprint(tw, "MODE\tACCESS\tRUNS\tSTAT\t")
			for _, s := range verifytest.BenchSteps {
				fmt.Fprintf(tw, "%s MS\t", s)
			}
			fmt.Fprintln(tw)
			for _, m := range res.Modes {
				for _, stat := range []string{"p50", "p95"} {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t", m.Mode, m.Access, m.Runs, stat)
					for _, s := range m.Steps {
						d := s.P50
						if stat == "p95" {
							d = s.P95
						}
						fmt.Fprintf(tw, "%.1f\t", ms(d.Seconds()))
					}
					fmt.Fprintln(tw)
				}
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&cfg.Runs, "runs", 0, "verifications per mode (default 50)")
	cmd.Flags().IntVar(&cfg.Slot, "slot", 0, "vpcd slot of the pcscd mode (default 10)")
	cmd.Flags().BoolVar(&cfg.NoPCSC, "no-pcscd", false, "in process only")
	cmd.Flags().BoolVar(&cfg.NISTP256, "p256", false, "cards with the P-256 profile instead of brainpoolP256r1 (as issued)")
	cmd.Flags().IntVar(&cfg.MaxChunk, "max-chunk", 0, "READ BINARY bytes per APDU through pcscd (default 223: short APDUs; vpcd carries up to 65471)")
	return cmd
}
