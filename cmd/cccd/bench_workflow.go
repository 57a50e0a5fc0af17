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
	apps, workers, history := 5000, 8, 20000
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
				jsonb_build_object('method', 'office', 'office', $2::text), 'bench.clerk' FROM generate_series(1, $1) g`, 2*apps, office); err != nil {
				return err
			}
			// A running line has history: delivered applications with their issued cards.
			// Without it the planner would plan lookups on cards, shipments and
			// hand-overs for empty tables, which no site runs with.
			if _, err := pool.Exec(ctx, seedHistory, history, office); err != nil {
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
			fmt.Fprintf(os.Stderr, "bench: 2 × %d approved applications through the workflow (%s broker): stage by stage, then a working line\n", apps,
				map[bool]string{true: "embedded", false: "external"}[br.Embedded()])
			r, err := workflow.Bench(ctx, &workflow.Engine{DB: pool, Log: log}, br.JS, log, office, apps, workers)
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
			fmt.Fprintf(tw, "end to end, one stage after another\t%d\t%.2f\t%.0f\t\n", r.Apps, r.EndToEndTime.Seconds(), r.EndToEndRate)
			fmt.Fprintf(tw, "end to end, a working line: every stage at once (target >= 500/s)\t%d\t%.2f\t%.0f\t\n", r.Apps, r.LineTime.Seconds(), r.LineRate)
			tw.Flush()
			fmt.Printf("%d state transitions, %d messages on JetStream, reconciliation balanced: %v\n", r.Transitions, r.Messages, r.Balanced)
			fmt.Println("stage work here is the workflow's own (binding records, stage transitions); writing chips and rendering faces are measured by `cccd bench perso` and `cccd bench print`.")
			return nil
		},
	}
	cmd.Flags().IntVar(&apps, "apps", apps, "approved applications to move in each of the two runs")
	cmd.Flags().IntVar(&workers, "workers", workers, "station readers and office counters working at once (commits of one wait on the log flush while others run)")
	cmd.Flags().IntVar(&history, "history", history, "delivered applications (with issued cards) already in the database")
	return cmd
}

// seedHistory ($1 applications, office $2) writes what a line that has run for a while
// holds: a finished batch of delivered applications, their done jobs, issued cards,
// a received shipment and the hand-overs.
const seedHistory = `WITH b AS (INSERT INTO batches (line, office, state, created_by, started_at, finished_at)
		VALUES ('B0', $2, 'done', 'bench.operator', now(), now()) RETURNING id),
	a AS (INSERT INTO applications (receipt, id_number, state, person, portrait, reason, intake_office, delivery, clerk, batch_id)
		SELECT 'H' || g, lpad((900000000 + g)::text, 12, '0'), 'delivered', '{}', '\xffd8', 'first_issue', $2,
		jsonb_build_object('method', 'office', 'office', $2::text), 'bench.clerk', b.id FROM generate_series(1, $1) g, b
		RETURNING id, batch_id),
	j AS (INSERT INTO jobs (id, application_id, batch_id, line, attempt, state, station)
		SELECT gen_random_uuid(), id, batch_id, 'B0', 1, 'done', 'bench' FROM a RETURNING id, application_id, batch_id),
	c AS (INSERT INTO cards (serial, application_id, batch_id, job_id, state)
		SELECT 'HIST' || lpad(application_id::text, 9, '0'), application_id, batch_id, id, 'issued' FROM j
		RETURNING serial, application_id),
	s AS (INSERT INTO shipments (office, state, created_by, received_by, received_at)
		VALUES ($2, 'received', 'bench.operator', 'bench.staff', now()) RETURNING id),
	si AS (INSERT INTO shipment_items (shipment_id, serial, application_id) SELECT s.id, c.serial, c.application_id FROM c, s)
	INSERT INTO handovers (application_id, serial, outcome, received_by, staff)
		SELECT application_id, serial, 'delivered', 'holder', 'bench.staff' FROM c`
