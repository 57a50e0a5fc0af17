package main

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cccd-project/cccd/issuance/intake"
)

func init() { addBench(newBenchIntakeCmd) }

func newBenchIntakeCmd() *cobra.Command {
	cfg := intake.BenchConfig{Residents: 1_000_000, Apps: 5000, Clients: 32, Portraits: 200}
	cmd := &cobra.Command{
		Use:   "intake",
		Short: "Register import rows/s (COPY) and intake applications/s through the API, on a scratch database",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			pool, drop, err := scratchDB(ctx, int32(cfg.Clients+4))
			if err != nil {
				return err
			}
			defer drop()
			res, err := intake.New(pool).Bench(ctx, cfg, os.TempDir(), func(s string) { fmt.Fprintln(os.Stderr, "bench:", s) })
			if err != nil {
				return err
			}
			if global.json {
				return printJSON(res)
			}
			tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "measure\tcount\tseconds\trate\ttarget\t")
			fmt.Fprintf(tw, "register import (COPY)\t%d rows\t%.2f\t%.0f rows/s\t>= 50000 rows/s\t\n", res.ImportRows, res.ImportTime.Seconds(), res.ImportRowsSec)
			fmt.Fprintf(tw, "intake via API: look-up + submit (%d clerks, %d B portraits)\t%d apps\t%.2f\t%.0f apps/s\t>= 500 apps/s\t\n", res.Clients, res.PortraitBytes, res.Apps, res.IntakeTime.Seconds(), res.IntakeAppsSec)
			fmt.Fprintf(tw, "intake latency p50 / p99\t\t\t%s / %s\t\t\n", res.LatencyP50.Round(time.Microsecond), res.LatencyP99.Round(time.Microsecond))
			for _, p := range []struct {
				name string
				ph   intake.BenchPhase
			}{{"  access records off (eighths 1, 4, 5, 8)", res.AccessOff}, {"  access records on (eighths 2, 3, 6, 7)", res.AccessOn}} {
				fmt.Fprintf(tw, "%s, p50 / p99 %s / %s\t%d apps\t%.2f\t%.0f apps/s\t\t\n", p.name, p.ph.LatencyP50.Round(time.Microsecond),
					p.ph.LatencyP99.Round(time.Microsecond), p.ph.Apps, p.ph.Time.Seconds(), p.ph.AppsSec)
			}
			fmt.Fprintf(tw, "cost of access records (off -> on)\t\t\t%.1f %%\t< 5 %%\t\n", res.AccessCost)
			tw.Flush()
			if res.Failed > 0 {
				return fmt.Errorf("%d submissions failed; first: %s", res.Failed, res.FirstFailure)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&cfg.Residents, "residents", cfg.Residents, "residents imported into the register")
	cmd.Flags().IntVar(&cfg.Apps, "apps", cfg.Apps, "applications submitted through the API")
	cmd.Flags().IntVar(&cfg.Clients, "clients", cfg.Clients, "concurrent API clients")
	cmd.Flags().IntVar(&cfg.Portraits, "portraits", cfg.Portraits, "distinct portraits")
	return cmd
}
