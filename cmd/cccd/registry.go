package main

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/portrait"
	"github.com/cccd-project/cccd/issuance/registry"
)

func init() { addCommand(newRegistryCmd) }

// progressLine writes a one-line progress display to stderr: redrawn in place on a
// terminal, a line every few seconds otherwise.
type progressLine struct {
	tty  bool
	last time.Time
}

func newProgress() *progressLine {
	fi, err := os.Stderr.Stat()
	return &progressLine{tty: err == nil && fi.Mode()&os.ModeCharDevice != 0}
}

func (p *progressLine) show(format string, args ...any) {
	if !p.tty && time.Since(p.last) < 3*time.Second {
		return
	}
	p.last = time.Now()
	if p.tty {
		fmt.Fprintf(os.Stderr, "\r\033[K"+format, args...)
	} else {
		fmt.Fprintf(os.Stderr, format+"\n", args...)
	}
}

func (p *progressLine) done() {
	if p.tty {
		fmt.Fprint(os.Stderr, "\r\033[K")
	}
}

func newRegistryCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "registry", Short: "The population register intake pre-fills from"}
	var count int
	var seed int64
	var out string
	generate := &cobra.Command{
		Use:   "generate --count N --seed S [-o FILE]",
		Short: "Write synthetic residents (valid ID numbers, Vietnamese names and addresses) as JSON Lines",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var w io.Writer = os.Stdout
			if out != "" && out != "-" {
				f, err := os.Create(out)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			bw := bufio.NewWriterSize(w, 1<<20)
			start := time.Now()
			if err := (registry.Generator{Seed: seed}).WriteJSONL(bw, count); err != nil {
				return err
			}
			if err := bw.Flush(); err != nil {
				return err
			}
			if out != "" && out != "-" {
				fmt.Fprintf(os.Stderr, "wrote %d residents to %s in %s\n", count, out, time.Since(start).Round(time.Millisecond))
			}
			return nil
		},
	}
	generate.Flags().IntVar(&count, "count", 1000, "number of residents")
	generate.Flags().Int64Var(&seed, "seed", 1, "random seed (same seed, same residents)")
	generate.Flags().StringVarP(&out, "output", "o", "", "output file (default standard output)")

	var rejects string
	imp := &cobra.Command{
		Use:   "import FILE [--rejects REJECTS.jsonl]",
		Short: "Load residents (JSON Lines) with COPY; without --rejects a bad line aborts the whole import",
		Long: `Load residents (JSON Lines) with COPY, each line checked with the rules intake applies.
Without --rejects the file is all-or-nothing: the first refused line aborts the import, naming its line, field
and rule. With --rejects FILE the good lines load and every refused line is written to FILE as JSON
({"line", "errors": [{"field", "rule"}], "text"}), followed by a summary by rule.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			opt := intake.ImportOptions{}
			if rejects != "" {
				rf, err := os.OpenFile(rejects, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600) // holds personal data
				if err != nil {
					return err
				}
				defer rf.Close()
				opt.Rejects = rf
			}
			db, err := openDB(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			p := newProgress()
			opt.Progress = func(pr intake.ImportProgress) {
				p.show("importing: %d rows, %.0f rows/s", pr.Rows, float64(pr.Rows)/pr.Elapsed.Seconds())
			}
			res, err := intake.New(db).ImportRegisterWith(cmd.Context(), bufio.NewReaderSize(f, 1<<20), opt)
			p.done()
			if err != nil {
				return err
			}
			if global.json {
				return printJSON(res)
			}
			fmt.Printf("imported %d residents in %s (%.0f rows/s)\n", res.Rows, res.Elapsed.Round(time.Millisecond), res.RowsPerSec)
			if rejects != "" {
				fmt.Printf("refused %d lines, listed in %s\n", res.Refused, rejects)
				for _, rule := range slices.Sorted(maps.Keys(res.ByRule)) {
					fmt.Printf("  %7d  %s\n", res.ByRule[rule], rule)
				}
			}
			return nil
		},
	}
	imp.Flags().StringVar(&rejects, "rejects", "", "load the good lines and write each refused line with its reasons to this file")

	var pseed int64
	var pout string
	pic := &cobra.Command{
		Use:   "portrait --seed S -o FILE.jpg",
		Short: "Draw a synthetic portrait (never a real face) as a JPEG of ICAO proportions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := portrait.Generate(pseed)
			if err != nil {
				return err
			}
			return os.WriteFile(pout, b, 0o644)
		},
	}
	pic.Flags().Int64Var(&pseed, "seed", 1, "random seed")
	pic.Flags().StringVarP(&pout, "output", "o", "portrait.jpg", "output file")
	cmd.AddCommand(generate, imp, pic)
	return cmd
}
