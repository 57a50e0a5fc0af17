package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cccd-project/cccd/smartcard/vchip/vchiptest"
)

func init() { addBench(newBenchChipCmd) }

// newBenchChipCmd is `cccd bench chip`: personalize virtual CCCD chips and read them back
// in process, printing per-card latencies, APDU counts and the reader's step times.
func newBenchChipCmd() *cobra.Command {
	var cfg vchiptest.BenchConfig
	cmd := &cobra.Command{
		Use:   "chip",
		Short: "Personalize virtual chips and read them back in process; report latencies and APDUs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := vchiptest.Bench(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			if global.json {
				return printJSON(res)
			}
			tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "CARDS\tBYTES\tACCESS\tEXTENDED\tPERSO MS\tPERSO APDUS\tREAD MS\tREAD APDUS\tCA\tAA\t")
			fmt.Fprintf(tw, "%d\t%d\t%s\t%v\t%.1f\t%d\t%.1f\t%d\t%v\t%v\t\n", res.Cards, res.Bytes, res.Access, res.ExtendedAPDU,
				ms(res.Personalize.Seconds()), res.PersoAPDUs, ms(res.Read.Seconds()), res.ReadAPDUs, res.ChipAuth, res.ActiveAuth)
			fmt.Fprintln(tw, "\t\t\t\t\t\t\t\t\t\t")
			fmt.Fprintln(tw, "READ STEP\tMEAN MS\t")
			for _, s := range res.Steps {
				fmt.Fprintf(tw, "%s\t%.2f\t\n", s.Name, ms(s.Mean.Seconds()))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&cfg.Cards, "cards", 0, "chips to personalize and read (default 20)")
	cmd.Flags().IntVar(&cfg.DG2Size, "dg2-size", 0, "DG2 bytes (default 18000: a ~20 KB chip)")
	cmd.Flags().StringVar(&cfg.Access, "access", "", "PACE-CAN (default), PACE-MRZ or BAC")
	cmd.Flags().BoolVar(&cfg.Short, "short", false, "short APDUs only (reader without extended length)")
	return cmd
}

func ms(seconds float64) float64 { return seconds * 1000 }
