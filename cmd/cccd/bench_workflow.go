package main

import (
	"fmt"
	"log/slog"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cccd-project/cccd/issuance/broker"
	"github.com/cccd-project/cccd/issuance/workflow"
)

func init() { addBench(newBenchWorkflowCmd) }

func newBenchWorkflowCmd() *cobra.Command {
	apps, workers := 5000, 8
	cmd := &cobra.Command{
		Use:   "workflow",
		Short: "Applications/s from approved to job queued, and through every later state, on a scratch database and broker",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			pool, drop, err := scratchDB(ctx, int32(3*workers+8))
			if err != nil {
				return err
			}
			defer drop()
			const office = "001-HK01"
			if _, err := pool.Exec(ctx, "INSERT INTO users (name, role, office, token_hash) VALUES ('bench.clerk', 'clerk', $1, 'x')", office); err != nil {
				return err
			}
			if _, err := pool.Exec(ctx, `INSERT INTO applications (receipt, id_number, state, person, portrait, reason, intake_office, delivery, clerk)
				SELECT 'B' || g, lpad(g::text, 12, '0'), 'approved', '{}', '\xffd8', 'first_issue', $2,
				jsonb_build_object('method', 'office', 'office', $2::text), 'bench.clerk' FROM generate_series(1, $1) g`, apps, office); err != nil {
				return err
			}
			if _, err := pool.Exec(ctx, "ANALYZE"); err != nil { // a running system has statistics
				return err
			}
			dir, err := os.MkdirTemp("", "cccd-bench-nats-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			br, err := broker.Connect(ctx, broker.Config{StoreDir: dir, Name: "cccd-bench"})
			if err != nil {
				return err
			}
			defer br.Close()
			log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			fmt.Fprintf(os.Stderr, "bench: %d approved applications through the workflow (%s broker)\n", apps,
				map[bool]string{true: "embedded", false: "external"}[br.Embedded()])
			r, err := workflow.Bench(ctx, &workflow.Engine{DB: pool, Log: log}, br.JS, log, office, workers)
			if err != nil {
				return err
			}
			if global.json {
				return printJSON(r)
			}
			tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "stage\tapplications\tseconds\tapps/s\t")
			fmt.Fprintf(tw, "approved -> job on work queue (batch, outbox, JetStream)\t%d\t%.2f\t%.0f\t\n", r.Apps, r.QueueTime.Seconds(), r.QueueRate)
			fmt.Fprintf(tw, "job -> personalized -> printed -> qc_passed (consumers)\t%d\t%.2f\t%.0f\t\n", r.Apps, r.ProduceTime.Seconds(), float64(r.Apps)/r.ProduceTime.Seconds())
			fmt.Fprintf(tw, "dispatched -> at_office -> delivered\t%d\t%.2f\t%.0f\t\n", r.Apps, r.DeliverTime.Seconds(), float64(r.Apps)/r.DeliverTime.Seconds())
			fmt.Fprintf(tw, "  of which: dispatch (one shipment)\t%d\t%.2f\t%.0f\t\n", r.Apps, r.DispatchTime.Seconds(), float64(r.Apps)/r.DispatchTime.Seconds())
			fmt.Fprintf(tw, "  receipt at the office\t%d\t%.2f\t%.0f\t\n", r.Apps, r.ReceiveTime.Seconds(), float64(r.Apps)/r.ReceiveTime.Seconds())
			fmt.Fprintf(tw, "  hand-over (%d counters)\t%d\t%.2f\t%.0f\t\n", workers, r.Apps, r.HandTime.Seconds(), float64(r.Apps)/r.HandTime.Seconds())
			fmt.Fprintf(tw, "end to end (target >= 500/s)\t%d\t%.2f\t%.0f\t\n", r.Apps, r.EndToEndTime.Seconds(), r.EndToEndRate)
			tw.Flush()
			fmt.Printf("%d state transitions, %d messages on JetStream, reconciliation balanced: %v\n", r.Transitions, r.Messages, r.Balanced)
			fmt.Println("stage work here is the workflow's own (binding records, stage transitions); writing chips and rendering faces are measured by `cccd bench perso` and `cccd bench print`.")
			return nil
		},
	}
	cmd.Flags().IntVar(&apps, "apps", apps, "approved applications to move")
	cmd.Flags().IntVar(&workers, "workers", workers, "concurrent workers per consumer")
	return cmd
}
