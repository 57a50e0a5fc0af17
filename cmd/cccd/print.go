package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cccd-project/cccd/issuance/broker"
	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/printqueue"
	"github.com/cccd-project/cccd/printqueue/printer"
)

func init() {
	addCommand(newPrintCmd)
	serveHooks = append(serveHooks, runServePrint)
}

// printRunConfig is `cccd print run`'s configuration.
type printRunConfig struct {
	Printer     string        // queue name; required
	Backend     string        // "spool" (default) or "cups"
	Out         string        // cards/ and proofs/; default <data-dir>/print
	SpoolDir    string        // --backend spool: default <out>/spool/<printer>
	CUPSQueue   string        // --backend cups: CUPS queue; default the printer name
	CUPSServer  string        // --backend cups: CUPS_SERVER (host:port or socket)
	Design      string        // card design
	MaxAttempts int           // per job before the printer is down
	AckWait     time.Duration // stage redelivery after a crash
}

// Validate checks the flags and fills in defaults.
func (c *printRunConfig) Validate() error {
	if !printer.ValidName(c.Printer) {
		return fmt.Errorf("print: --printer %q: %w", c.Printer, printer.ErrInvalidName)
	}
	if c.Backend != "spool" && c.Backend != "cups" {
		return fmt.Errorf("print: --backend %q: want spool or cups", c.Backend)
	}
	if c.Out == "" {
		c.Out = filepath.Join(global.dataDir, "print")
	}
	if c.SpoolDir == "" {
		c.SpoolDir = filepath.Join(c.Out, "spool", c.Printer)
	}
	if c.CUPSQueue == "" {
		c.CUPSQueue = c.Printer
	}
	return nil
}

func newPrintCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "print", Short: "Print queue: card faces as PDF, printers, QC against the chip, reprints"}
	cfg := printRunConfig{Backend: "spool", AckWait: time.Minute}
	run := &cobra.Command{
		Use:   "run --printer NAME",
		Short: "Print personalized cards on one printer and check each face against its chip (QC)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.Validate(); err != nil {
				return &exitError{2, err}
			}
			return runPrint(cmd.Context(), cfg)
		},
	}
	f := run.Flags()
	f.StringVar(&cfg.Printer, "printer", "", "printer (queue) name, [A-Za-z0-9._-]")
	f.StringVar(&cfg.Backend, "backend", cfg.Backend, "spool: write each job into a directory; cups: print with lp")
	f.StringVar(&cfg.Out, "out", "", "directory of the card PDFs (cards/) and proof sheets (proofs/) (default <data-dir>/print)")
	f.StringVar(&cfg.SpoolDir, "spool-dir", "", "--backend spool: the printer's spool directory (default <out>/spool/<printer>)")
	f.StringVar(&cfg.CUPSQueue, "cups-queue", "", "--backend cups: CUPS queue name (default the printer name)")
	f.StringVar(&cfg.CUPSServer, "cups-server", "", "--backend cups: CUPS server, host:port or socket path (default the client's)")
	f.StringVar(&cfg.Design, "design", "", "card design: can-cuoc-2024 (default) or cccd-2021")
	f.IntVar(&cfg.MaxAttempts, "max-attempts", 0, "attempts per job before the printer is reported down (default 5)")
	f.DurationVar(&cfg.AckWait, "ack-wait", cfg.AckWait, "stage redelivery delay after a crash")
	run.MarkFlagRequired("printer")

	var filter printqueue.Filter
	list := &cobra.Command{
		Use: "list", Short: "Print jobs, newest first, and each printer's queue", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withEngine(cmd, intake.ProductionViewRoles, func(e *workflow.Engine, _ intake.User) error {
				return printList(cmd.Context(), e, filter)
			})
		},
	}
	list.Flags().StringVar(&filter.Printer, "printer", "", "only this printer")
	list.Flags().StringVar(&filter.State, "state", "", "only jobs in this state (queued, rendering, sent, printed, failed, cancelled)")
	list.Flags().StringVar(&filter.Receipt, "receipt", "", "only this application")
	list.Flags().IntVar(&filter.Limit, "limit", 50, "at most this many jobs")

	var reason string
	reprint := &cobra.Command{
		Use: "reprint RECEIPT --reason TEXT", Short: "Destroy the application's card (spoiled) and make and print a new one", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withEngine(cmd, intake.ProductionRoles, func(e *workflow.Engine, u intake.User) error {
				if err := printqueue.Reprint(cmd.Context(), e, u.Actor(), args[0], reason); err != nil {
					return err
				}
				if global.json {
					return printJSON(map[string]any{"receipt": args[0], "reprint": true, "reason": reason})
				}
				fmt.Printf("%s: card spoiled (%s); a new card is queued for personalization and printing\n", args[0], reason)
				return nil
			})
		},
	}
	reprint.Flags().StringVar(&reason, "reason", "", "why the card is made again (recorded as its spoilage reason)")
	reprint.MarkFlagRequired("reason")

	var proofOut, proofDesign string
	proof := &cobra.Command{
		Use: "proof BATCH", Short: "Write the batch's card faces, several per A4 page, as a proof sheet PDF", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return &exitError{2, err}
			}
			if proofOut == "" {
				proofOut = filepath.Join(global.dataDir, "print")
			}
			return withEngine(cmd, intake.ProductionViewRoles, func(e *workflow.Engine, _ intake.User) error {
				path, n, err := printqueue.ProofSheet(cmd.Context(), e, proofOut, proofDesign, id)
				if err != nil {
					return err
				}
				if global.json {
					return printJSON(map[string]any{"batch": id, "cards": n, "pdf": path})
				}
				fmt.Printf("batch %d: %d cards on %s\n", id, n, path)
				return nil
			})
		},
	}
	proof.Flags().StringVar(&proofOut, "out", "", "output directory (default <data-dir>/print); the sheet goes to <out>/proofs/batch-<id>.pdf")
	proof.Flags().StringVar(&proofDesign, "design", "", "card design: can-cuoc-2024 (default) or cccd-2021")

	retry := &cobra.Command{
		Use: "retry JOB", Short: "Retry a failed print job (a printer that was down resumes)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return &exitError{2, err}
			}
			return withEngine(cmd, intake.ProductionRoles, func(e *workflow.Engine, _ intake.User) error {
				if err := printqueue.Retry(cmd.Context(), e.DB, id); err != nil {
					return err
				}
				fmt.Printf("print job %d queued again\n", id)
				return nil
			})
		},
	}
	verify := &cobra.Command{
		Use: "verify BATCH", Short: "Check again every printed face of a batch against its chip: MRZ = DG1, fields = DG13", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return &exitError{2, err}
			}
			return withEngine(cmd, intake.ProductionViewRoles, func(e *workflow.Engine, _ intake.User) error {
				vs, err := printqueue.Verify(cmd.Context(), e, id)
				if err != nil {
					return err
				}
				bad := 0
				for _, v := range vs {
					if !v.OK {
						bad++
					}
				}
				if global.json {
					if err := printJSON(vs); err != nil {
						return err
					}
				} else {
					tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "RECEIPT\tSERIAL\tFACE = CHIP\tPDF")
					for _, v := range vs {
						ok := "yes (MRZ = DG1, fields = DG13)"
						if !v.OK {
							ok = "NO: " + v.Problem
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", v.Receipt, v.Serial, ok, v.PDF)
					}
					tw.Flush()
					fmt.Printf("%d printed cards, %d differ from their chips\n", len(vs), bad)
				}
				if bad > 0 {
					return &exitError{1, fmt.Errorf("print: %d printed faces differ from their chips", bad)}
				}
				return nil
			})
		},
	}
	cmd.AddCommand(run, list, reprint, proof, retry, verify, newPrintDownCmd(), newPrintUpCmd())
	return cmd
}

// backend builds the printer back-end of a configuration.
func (c printRunConfig) backend(ctx context.Context) (printer.Printer, string, error) {
	if c.Backend == "cups" {
		p := printer.CUPS{Printer: c.CUPSQueue, Server: c.CUPSServer}
		if err := p.Check(ctx); err != nil {
			return nil, "", err
		}
		return p, "CUPS queue " + c.CUPSQueue, nil
	}
	if err := os.MkdirAll(c.SpoolDir, 0o755); err != nil {
		return nil, "", fmt.Errorf("print: %w", err)
	}
	return printer.Spool{Dir: c.SpoolDir}, "spool " + c.SpoolDir, nil
}

func runPrint(ctx context.Context, cfg printRunConfig) error {
	log := newLogger("print")
	db, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	back, where, err := cfg.backend(ctx)
	if err != nil {
		return err
	}
	url, err := broker.DiscoverURL(natsStoreDir())
	if err != nil {
		return fmt.Errorf("print: broker: %w (start `cccd serve`, or set CCCD_NATS_URL)", err)
	}
	b, err := broker.Connect(ctx, broker.Config{URL: url, Name: "cccd-print-" + cfg.Printer})
	if err != nil {
		return err
	}
	defer b.Close()
	if err := workflow.EnsureStreams(ctx, b.JS); err != nil {
		return err
	}
	q, err := printqueue.New(db, &workflow.Engine{DB: db, Log: log}, back, printqueue.Config{Printer: cfg.Printer, Out: cfg.Out,
		Design: cfg.Design, MaxAttempts: cfg.MaxAttempts, Actor: ledger.System("printqueue:" + cfg.Printer)}, log)
	if err != nil {
		return &exitError{2, err}
	}
	log.Info("cccd print: running", "printer", cfg.Printer, "backend", where, "cards", filepath.Join(cfg.Out, "cards"), "broker", url)
	fmt.Fprintf(os.Stderr, "printer %s on %s; card faces in %s\n", cfg.Printer, where, filepath.Join(cfg.Out, "cards"))
	return q.RunStages(ctx, b.JS, cfg.AckWait)
}

// runServePrint runs the print and QC stages inside `cccd serve` when CCCD_PRINT_SPOOL
// names a directory: printer CCCD_PRINTER (default "spool") spools into it, card PDFs go
// to CCCD_PRINT_OUT (default <data-dir>/print). Without CCCD_PRINT_SPOOL serve is unchanged.
func runServePrint(ctx context.Context, env *serveEnv) error {
	spool := os.Getenv("CCCD_PRINT_SPOOL")
	if spool == "" {
		return nil
	}
	cfg := printRunConfig{Printer: os.Getenv("CCCD_PRINTER"), Backend: "spool", Out: os.Getenv("CCCD_PRINT_OUT"), SpoolDir: spool,
		AckWait: time.Minute}
	if cfg.Printer == "" {
		cfg.Printer = "spool"
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	back, where, err := cfg.backend(ctx)
	if err != nil {
		return err
	}
	// The workflow hook starts the embedded broker: wait until it wrote its URL (a file
	// older than this serve is a stale one from an earlier run).
	started := time.Now().Add(-time.Second)
	var url string
	for url == "" {
		fi, statErr := os.Stat(broker.URLFile(natsStoreDir()))
		if os.Getenv("CCCD_NATS_URL") != "" || (statErr == nil && fi.ModTime().After(started)) {
			if url, err = broker.DiscoverURL(natsStoreDir()); err != nil {
				url = ""
			}
		}
		if url == "" {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	b, err := broker.Connect(ctx, broker.Config{URL: url, Name: "cccd-serve-print"})
	if err != nil {
		return err
	}
	defer b.Close()
	q, err := printqueue.New(env.db, &workflow.Engine{DB: env.db, Log: env.log}, back, printqueue.Config{Printer: cfg.Printer,
		Out: cfg.Out, Actor: ledger.System("printqueue:" + cfg.Printer)}, env.log)
	if err != nil {
		return err
	}
	env.log.Info("cccd serve: print queue running", "printer", cfg.Printer, "backend", where, "cards", filepath.Join(cfg.Out, "cards"))
	return q.RunStages(ctx, b.JS, cfg.AckWait)
}

func printList(ctx context.Context, e *workflow.Engine, f printqueue.Filter) error {
	jobs, err := printqueue.List(ctx, e.DB, f)
	if err != nil {
		return err
	}
	st, err := printqueue.Status(ctx, e.DB)
	if err != nil {
		return err
	}
	if global.json {
		return printJSON(map[string]any{"printers": st, "jobs": jobs})
	}
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PRINTER\tSTATUS\tNEEDS OPERATOR\tRETRYING\tBY STATE")
	for _, s := range st {
		var parts []string
		for _, k := range []string{printqueue.Queued, printqueue.Rendering, printqueue.Sent, printqueue.Printed, printqueue.Failed, printqueue.Cancelled} {
			if s.ByState[k] > 0 {
				parts = append(parts, fmt.Sprintf("%s=%d", k, s.ByState[k]))
			}
		}
		status := "ok"
		if s.Down {
			status = "DOWN (retry its failed job)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", s.Printer, status, s.NeedsOperator, s.Retrying, strings.Join(parts, " "))
	}
	tw.Flush()
	fmt.Println()
	tw = tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tPRINTER\tRECEIPT\tSERIAL\tSTATE\tATTEMPTS\tPDF / ERROR\tREASON")
	for _, j := range jobs {
		detail := j.PDF
		if j.State == printqueue.Failed || j.State == printqueue.Cancelled {
			detail = j.Error
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\n", j.ID, j.Printer, j.Receipt, j.Serial, j.State, j.Attempts, j.MaxAttempts, detail, j.Reason)
	}
	return tw.Flush()
}
