package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cccd-project/cccd/personalization/station"
)

func init() { addBench(newBenchPersoCmd) }

// newBenchPersoCmd is `cccd bench perso`: personalize virtual chips end to end (data
// preparation, chip key generation, writing, EF.SOD signing, lock, read-back QC with
// PACE, Chip and Active Authentication and Passive Authentication) in process and
// through pcscd, and print cards per second, latencies and CPU per card.
func newBenchPersoCmd() *cobra.Command {
	var cfg station.BenchConfig
	var noInProc, noPCSCD bool
	cmd := &cobra.Command{
		Use:   "perso",
		Short: "Personalize virtual chips in process and through pcscd; report cards/s and CPU per card",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.InProc, cfg.PCSCD = !noInProc, !noPCSCD
			rows, err := station.Bench(cmd.Context(), cfg)
			if global.json {
				if perr := printJSON(rows); perr != nil {
					return perr
				}
				return err
			}
			tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "MODE\tREADERS\tCARDS\tFAILED\tSECONDS\tCARDS/S\tP50 MS\tP95 MS\tCPU MS/CARD\tCHIP MS/CARD\tCONTROLLER CPU MS/CARD\t")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.2f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t\n", r.Mode, r.Readers, r.Cards, r.Failed,
					r.Seconds, r.CardsPerSec, r.P50MS, r.P95MS, r.CPUMS, r.ChipMS, r.ControllerMS)
			}
			for _, r := range rows {
				fmt.Fprintf(tw, "\t\t\t\t\t\t\t\t\t\t\t\n%s STEP\tMEAN MS\tAPDUS\t\t\t\t\t\t\t\t\t\n", r.Mode)
				for _, s := range r.Steps {
					fmt.Fprintf(tw, "%s\t%.2f\t%.1f\t\t\t\t\t\t\t\t\t\n", s.Name, s.MS, s.APDUs)
				}
			}
			if ferr := tw.Flush(); ferr != nil {
				return ferr
			}
			return err
		},
	}
	cmd.Flags().IntVar(&cfg.Cards, "cards", 0, "cards per run (default 200 in process, 40 through pcscd)")
	cmd.Flags().IntVar(&cfg.Workers, "workers", 0, "cards written at once in process (default 2)")
	cmd.Flags().IntSliceVar(&cfg.Slots, "slots", nil, "vpcd reader slots for the pcscd run (default 10,11; scripts/pcscd.sh start 14)")
	cmd.Flags().BoolVar(&cfg.Profile.NISTP256, "nist-p256", false, "PACE and Chip Authentication on NIST P-256 instead of brainpoolP256r1 (issued cards use Brainpool)")
	cmd.Flags().IntVar(&cfg.MaxChunk, "max-apdu", 0, "extended length limit through pcscd (default 4096)")
	cmd.Flags().BoolVar(&noInProc, "no-inproc", false, "skip the in-process run")
	cmd.Flags().BoolVar(&noPCSCD, "no-pcscd", false, "skip the pcscd run")
	return cmd
}
