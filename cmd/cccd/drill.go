package main

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cccd-project/cccd/issuance/site/drill"
)

func init() { addCommand(newDrillCmd) }

// newDrillCmd is `cccd drill`: the fault drill of a multi-host site. It runs on the
// office host of the test site that scripts/site.sh makes; `scripts/site.sh drill ARGS`
// (and `make site-drill`) makes the site, runs it there and removes the site.
func newDrillCmd() *cobra.Command {
	var cfg drill.Config
	var tearRate, baseline float64
	cmd := &cobra.Command{
		Use:   "drill --dir D [--apps N] [--faults F] [--seed S]",
		Short: "Fault drill on the test site: applications to delivered while stations, serve, NATS nodes, network and database fail",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.TearRate, cfg.Baseline = tearRate, baseline
			if cfg.Dir != "" {
				abs, err := filepath.Abs(cfg.Dir)
				if err != nil {
					return err
				}
				cfg.Dir = abs
			}
			if err := cfg.Validate(); err != nil {
				return &exitError{2, err}
			}
			rep, err := drill.Run(cmd.Context(), cfg)
			if rep != nil {
				b, jerr := json.MarshalIndent(rep, "", "  ")
				if jerr == nil {
					os.WriteFile(filepath.Join(cfg.Dir, "report.json"), append(b, '\n'), 0o644)
				}
				if global.json {
					os.Stdout.Write(append(b, '\n'))
				} else {
					rep.Print(os.Stdout)
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Dir, "dir", "", "work directory: certificates, stores, logs and report.json")
	f.IntVar(&cfg.Apps, "apps", 1000, "applications")
	f.IntVar(&cfg.Faults, "faults", 8, "faults to inject (5 or more: every kind)")
	f.Int64Var(&cfg.Seed, "seed", 0, "seed of the fault plan, the torn chips and the register (default: from the clock, printed)")
	f.Float64Var(&tearRate, "tear-rate", 0.03, "share of blank chips torn out of the reader mid-write")
	f.Float64Var(&baseline, "baseline", 0.2, "share of the applications run first without faults")
	f.DurationVar(&cfg.Timeout, "timeout", 0, "stop after this long (default 10 min + 1 s per application)")
	return cmd
}
