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
	cfg := intake.BenchConfig{Residents: 1_000_000, Apps: 20000, Clients: 32, Portraits: 200}
	runs := 1
	cmd := &cobra.Command{
		Use:   "intake",
		Short: "Register import rows/s (COPY) and intake applications/s through the API, access records off and on, on a scratch database",
		Long: `Register import rows/s (COPY) and intake applications/s through the API, on a scratch database. An
application is a clerk's register look-up and the submission; half of them are taken with access
records on, half off, in alternating segments of the run (off, on, on, off, ...; at least 20 applications
per clerk in each, up to 64 segments) so that the machine's swings weigh on both alike. --runs repeats
the whole benchmark on fresh databases and reports medians and ranges: on a shared machine one run says
little.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runs < 1 {
				return fmt.Errorf("bench intake: --runs %d: at least 1", runs)
			}
			var results []intake.BenchResult
			for i := range runs {
				if runs > 1 {
					fmt.Fprintf(os.Stderr, "run %d of %d\n", i+1, runs)
				}
				res, err := benchIntakeOnce(cmd, cfg)
				if err != nil {
					return err
				}
				if res.Failed > 0 {
					return fmt.Errorf("%d submissions failed; first: %s", res.Failed, res.FirstFailure)
				}
				results = append(results, res)
			}
			if global.json {
				if runs == 1 {
					return printJSON(results[0])
				}
				return printJSON(map[string]any{"runs": results,
					"median_intake_per_second":     median(results, intakeRate),
					"median_access_off_per_second": median(results, accessOff),
					"median_access_on_per_second":  median(results, accessOn),
					"median_access_cost_percent":   median(results, accessCost)})
			}
			printIntakeBench(results)
			return nil
		},
	}
	cmd.Flags().IntVar(&cfg.Residents, "residents", cfg.Residents, "residents imported into the register")
	cmd.Flags().IntVar(&cfg.Apps, "apps", cfg.Apps, "applications taken through the API")
	cmd.Flags().IntVar(&cfg.Clients, "clients", cfg.Clients, "concurrent API clients, each its own clerk")
	cmd.Flags().IntVar(&cfg.Portraits, "portraits", cfg.Portraits, "distinct portraits")
	cmd.Flags().IntVar(&runs, "runs", runs, "repeat the benchmark this many times and report medians and ranges")
	return cmd
}

func benchIntakeOnce(cmd *cobra.Command, cfg intake.BenchConfig) (intake.BenchResult, error) {
	ctx := cmd.Context()
	pool, drop, err := scratchDB(ctx, int32(cfg.Clients+4))
	if err != nil {
		return intake.BenchResult{}, err
	}
	defer drop()
	return intake.New(pool).Bench(ctx, cfg, os.TempDir(), func(s string) { fmt.Fprintln(os.Stderr, "bench:", s) })
}

// The figures of an intake run.
var (
	intakeRate = func(r intake.BenchResult) float64 { return r.IntakeAppsSec }
	accessOff  = func(r intake.BenchResult) float64 { return r.AccessOff.AppsSec }
	accessOn   = func(r intake.BenchResult) float64 { return r.AccessOn.AppsSec }
	accessCost = func(r intake.BenchResult) float64 { return r.AccessCost }
)

// printIntakeBench prints the table of one run, or the medians (and ranges) of several.
func printIntakeBench(results []intake.BenchResult) {
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	if len(results) > 1 {
		fmt.Fprintf(tw, "measure (%d runs)\tmedian\tlowest\thighest\ttarget\t\n", len(results))
		for _, row := range []struct {
			name, unit, target string
			f                  func(intake.BenchResult) float64
		}{
			{"register import (COPY)", "rows/s", ">= 50000 rows/s", func(r intake.BenchResult) float64 { return r.ImportRowsSec }},
			{"intake via API: look-up + submit", "apps/s", ">= 500 apps/s", intakeRate},
			{"  access records off", "apps/s", "", accessOff},
			{"  access records on", "apps/s", "", accessOn},
			{"cost of access records (off -> on)", "%", "< 5 %", accessCost},
			{"look-ups per statement and commit", "", "", func(r intake.BenchResult) float64 { return r.LookupGroup }},
		} {
			med, lo, hi := spread(results, row.f)
			fmt.Fprintf(tw, "%s\t%.1f %s\t%.1f\t%.1f\t%s\t\n", row.name, med, row.unit, lo, hi, row.target)
		}
		tw.Flush()
		return
	}
	res := results[0]
	fmt.Fprintln(tw, "measure\tcount\tseconds\trate\ttarget\t")
	fmt.Fprintf(tw, "register import (COPY)\t%d rows\t%.2f\t%.0f rows/s\t>= 50000 rows/s\t\n", res.ImportRows, res.ImportTime.Seconds(), res.ImportRowsSec)
	fmt.Fprintf(tw, "intake via API: look-up + submit (%d clerks, %d B portraits)\t%d apps\t%.2f\t%.0f apps/s\t>= 500 apps/s\t\n", res.Clients, res.PortraitBytes, res.Apps, res.IntakeTime.Seconds(), res.IntakeAppsSec)
	fmt.Fprintf(tw, "intake latency p50 / p99\t\t\t%s / %s\t\t\n", res.LatencyP50.Round(time.Microsecond), res.LatencyP99.Round(time.Microsecond))
	for _, p := range []struct {
		name string
		ph   intake.BenchPhase
	}{{fmt.Sprintf("  access records off (%d of %d segments)", res.Segments/2, res.Segments), res.AccessOff},
		{fmt.Sprintf("  access records on (%d of %d segments)", res.Segments/2, res.Segments), res.AccessOn}} {
		fmt.Fprintf(tw, "%s, p50 / p99 %s / %s\t%d apps\t%.2f\t%.0f apps/s\t\t\n", p.name, p.ph.LatencyP50.Round(time.Microsecond),
			p.ph.LatencyP99.Round(time.Microsecond), p.ph.Apps, p.ph.Time.Seconds(), p.ph.AppsSec)
	}
	fmt.Fprintf(tw, "cost of access records (off -> on)\t\t\t%.1f %%\t< 5 %%\t\n", res.AccessCost)
	fmt.Fprintf(tw, "look-ups per statement and commit (records on, mean)\t\t\t%.2f\t\t\n", res.LookupGroup)
	tw.Flush()
}
