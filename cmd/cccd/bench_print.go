package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cccd-project/cccd/printqueue/render"
)

func init() { addBench(newBenchPrintCmd) }

// newBenchPrintCmd is `cccd bench print`: render synthetic cards to PDF on all
// cores and print card faces per second.
func newBenchPrintCmd() *cobra.Command {
	var cfg render.BenchConfig
	cmd := &cobra.Command{
		Use:   "print",
		Short: "Render synthetic card faces to PDF on all cores and report faces per second",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := render.Bench(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			if global.json {
				return printJSON(res)
			}
			tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "DESIGN\tCARDS\tFACES\tCARDS/PDF\tWORKERS\tSECONDS\tFACES/S\tCPU S\tFACES/CPU S\tMB\t")
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.2f\t%.0f\t%.2f\t%.0f\t%.1f\t\n", res.Design, res.Cards, res.Faces,
				res.Batch, res.Workers, res.Elapsed.Seconds(), res.FacesPerSecond, res.CPUSeconds, res.FacesPerCPUSecond,
				float64(res.Bytes)/1e6)
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&cfg.Design, "design", "", "card design (default can-cuoc-2024; also cccd-2021)")
	cmd.Flags().IntVar(&cfg.Cards, "cards", 0, "cards to render (default 1000)")
	cmd.Flags().IntVar(&cfg.Workers, "workers", 0, "concurrent renderers (default: all cores)")
	cmd.Flags().IntVar(&cfg.Batch, "batch", 0, "cards per PDF document (default 1: one print job per card)")
	return cmd
}
