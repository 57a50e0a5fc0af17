package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
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

	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "Load residents (JSON Lines) with COPY; a bad line aborts the whole import",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			db, err := openDB(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			p := newProgress()
			res, err := intake.New(db).ImportRegister(cmd.Context(), bufio.NewReaderSize(f, 1<<20), func(pr intake.ImportProgress) {
				p.show("importing: %d rows, %.0f rows/s", pr.Rows, float64(pr.Rows)/pr.Elapsed.Seconds())
			})
			p.done()
			if err != nil {
				return err
			}
			if global.json {
				return printJSON(res)
			}
			fmt.Printf("imported %d residents in %s (%.0f rows/s)\n", res.Rows, res.Elapsed.Round(time.Millisecond), res.RowsPerSec)
			return nil
		},
	}

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
