package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cccd-project/cccd/smartcard/cardbench"
)

func init() { addBench(newBenchCardCmd) }

// newBenchCardCmd is `cccd bench card`: read a personalized ~20 KB virtual chip through
// pcscd (PACE-CAN, every file, Chip and Active Authentication) and in process, printing
// the APDU round trip and p50/p95 per step.
func newBenchCardCmd() *cobra.Command {
	var cfg cardbench.Config
	cmd := &cobra.Command{
		Use:   "card",
		Short: "Time reading a personalized ~20 KB chip through pcscd (PACE, files, CA, AA) and in process",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := cardbench.Measure(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			if global.json {
				return printJSON(res)
			}
			fmt.Printf("reader %q (slot %d); chip %d bytes (DG2 %d); %s, chip auth %v, active auth %v\n",
				res.Reader, res.Slot, res.Bytes, res.DG2Bytes, res.Access, res.ChipAuth, res.ActiveAuth)
			fmt.Printf("pcsc.MeasureRoundTrip mean %.3f ms; target for the read through pcscd: p50 total <= %.0f ms\n\n",
				ms(res.MeanRoundTrip.Seconds()), ms(cardbench.Target.Seconds()))
			tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprint(tw, "TRANSPORT\tREADS\tAPDUS\tSTAT\tAPDU RTT US\t")
			for _, s := range cardbench.Steps {
				fmt.Fprintf(tw, "%s MS\t", s)
			}
			fmt.Fprintln(tw)
			for _, s := range []cardbench.Series{res.PCSC, res.InProcess} {
				for _, p := range []string{"p50", "p95"} {
					pick := func(st cardbench.Stat) float64 {
						if p == "p95" {
							return ms(st.P95.Seconds())
						}
						return ms(st.P50.Seconds())
					}
					fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%.1f\t", s.Transport, s.Reads, s.APDUs, p, 1000*pick(s.RoundTrip))
					for _, st := range s.Steps {
						fmt.Fprintf(tw, "%.1f\t", pick(st))
					}
					fmt.Fprintln(tw)
				}
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&cfg.N, "n", 0, "reads per transport (default 50)")
	cmd.Flags().IntVar(&cfg.Slot, "slot", 0, "vpcd reader slot of the local pcscd (default 10, shared with bench perso/verify; scripts/pcscd.sh start 14)")
	cmd.Flags().IntVar(&cfg.DG2Size, "dg2-size", 0, "DG2 bytes (default 18000: a ~20 KB chip)")
	cmd.Flags().IntVar(&cfg.RoundTrips, "round-trips", 0, "APDUs timed for the round trip (default 200)")
	return cmd
}
