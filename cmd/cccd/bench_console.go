package main

import (
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cccd-project/cccd/issuance/console"
)

func init() { addBench(newBenchConsoleCmd) }

func newBenchConsoleCmd() *cobra.Command {
	cfg := console.BenchConfig{Applications: 100_000, Offices: 20, Requests: 2000, Clients: 4}
	cmd := &cobra.Command{
		Use:   "console",
		Short: "Web console pages/s and server time (p50/p99) of the approval queue and the operator dashboard, on a scratch database",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			pool, drop, err := scratchDB(ctx, int32(cfg.Clients+4))
			if err != nil {
				return err
			}
			defer drop()
			res, err := console.Bench(ctx, pool, cfg, func(s string) { fmt.Fprintln(os.Stderr, "bench:", s) })
			if err != nil {
				return err
			}
			if global.json {
				return printJSON(res)
			}
			fmt.Printf("%d applications (%d awaiting approval at the measured office), loaded in %.1f s; %d clients\n",
				res.Applications, res.InQueue, res.LoadTime.Seconds(), cfg.Clients)
			tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "page\trequests\tpages/s\tserver p50\tserver p99\tmax\tbytes\ttarget p99\t")
			for _, p := range res.Pages {
				fmt.Fprintf(tw, "%s (%s)\t%d\t%.0f\t%s\t%s\t%s\t%d\t< 50ms\t\n", p.Name, p.Path, p.Requests, p.PagesSec,
					p.P50.Round(10*time.Microsecond), p.P99.Round(10*time.Microsecond), p.Max.Round(10*time.Microsecond), p.Bytes)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&cfg.Applications, "apps", cfg.Applications, "applications in the database")
	cmd.Flags().IntVar(&cfg.Offices, "offices", cfg.Offices, "intake offices the applications are spread over")
	cmd.Flags().IntVar(&cfg.Requests, "requests", cfg.Requests, "requests per page")
	cmd.Flags().IntVar(&cfg.Clients, "clients", cfg.Clients, "concurrent logged-in clients")
	return cmd
}
