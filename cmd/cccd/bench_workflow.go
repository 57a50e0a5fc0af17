package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cccd-project/cccd/issuance/broker"
	"github.com/cccd-project/cccd/issuance/workflow"
)

func init() { addBench(newBenchWorkflowCmd) }

func newBenchWorkflowCmd() *cobra.Command {
	apps, workers, history, runs := 5000, 8, 20000, 1
	cmd := &cobra.Command{
		Use:   "workflow",
		Short: "Applications/s from approved to job queued, and through every later state, on a scratch database and broker",
		Long: `Moves 2 × --apps approved applications through the workflow on a scratch database and broker:
the first set stage after stage (each stage timed on its own), the second as a working line with
every stage at once. --runs repeats the whole benchmark, each time on a fresh database and broker,
and reports the median of every figure with its range: on a shared machine one run says little.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runs < 1 {
				return fmt.Errorf("bench workflow: --runs %d: at least 1", runs)
			}
			var all []workflow.BenchResult
			for i := range runs {
				if runs > 1 {
					fmt.Fprintf(os.Stderr, "run %d of %d\n", i+1, runs)
				}
				r, err := benchWorkflowOnce(cmd.Context(), apps, workers, history)
				if err != nil {
					return err
				}
				if runs > 1 {
					fmt.Fprintf(os.Stderr, "  end to end %.0f/s stage by stage, %.0f/s on a working line, reconciliation balanced: %v\n",
						r.EndToEndRate, r.LineRate, r.Balanced)
				}
				all = append(all, r)
			}
			if global.json {
				if runs == 1 {
					return printJSON(all[0])
				}
				return printJSON(benchRuns{Runs: all, MedianEndToEnd: median(all, endToEnd), MedianLine: median(all, line)})
			}
			printWorkflowBench(all, workers)
			return nil
		},
	}
	cmd.Flags().IntVar(&apps, "apps", apps, "approved applications to move in each of the two runs")
	cmd.Flags().IntVar(&workers, "workers", workers, "station readers and office counters working at once (commits of one wait on the log flush while others run)")
	cmd.Flags().IntVar(&history, "history", history, "delivered applications (with issued cards) already in the database")
	cmd.Flags().IntVar(&runs, "runs", runs, "repeat the benchmark this many times and report medians and ranges")
	return cmd
}

// benchWorkflowOnce runs workflow.Bench once on a fresh scratch database, with history
// delivered applications behind the 2×apps approved ones, and a fresh broker.
func benchWorkflowOnce(ctx context.Context, apps, workers, history int) (workflow.BenchResult, error) {
	var r workflow.BenchResult
	pool, drop, err := scratchDB(ctx, int32(3*workers+8))
	if err != nil {
		return r, err
	}
	defer drop()
	const office = "001-HK01"
	if _, err := pool.Exec(ctx, "INSERT INTO users (name, role, office, token_hash) VALUES ('bench.clerk', 'clerk', $1, 'x')", office); err != nil {
		return r, err
	}
	if _, err := pool.Exec(ctx, `INSERT INTO applications (receipt, id_number, state, person, portrait, reason, intake_office, delivery, clerk)
		SELECT 'B' || g, lpad(g::text, 12, '0'), 'approved', '{}', '\xffd8', 'first_issue', $2,
		jsonb_build_object('method', 'office', 'office', $2::text), 'bench.clerk' FROM generate_series(1, $1) g`, 2*apps, office); err != nil {
		return r, err
	}
	// A running line has history: delivered applications with their issued cards.
	// Without it the planner would plan lookups on cards, shipments and
	// hand-overs for empty tables, which no site runs with.
	if _, err := pool.Exec(ctx, seedHistory, history, office); err != nil {
		return r, err
	}
	if _, err := pool.Exec(ctx, "ANALYZE"); err != nil { // a running system has statistics
		return r, err
	}
	dir, err := os.MkdirTemp("", "cccd-bench-nats-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	br, err := broker.Connect(ctx, broker.Config{StoreDir: dir, Name: "cccd-bench"})
	if err != nil {
		return r, err
	}
	defer br.Close()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	fmt.Fprintf(os.Stderr, "bench: 2 × %d approved applications through the workflow (%s broker): stage by stage, then a working line\n", apps,
		map[bool]string{true: "embedded", false: "external"}[br.Embedded()])
	return workflow.Bench(ctx, &workflow.Engine{DB: pool, Log: log}, br.JS, log, office, apps, workers)
}

// benchRuns is the JSON of several runs.
type benchRuns struct {
	Runs           []workflow.BenchResult `json:"runs"`
	MedianEndToEnd float64                `json:"median_end_to_end_per_second"`
	MedianLine     float64                `json:"median_line_per_second"`
}

// The figures of a run, in applications per second.
var (
	endToEnd = func(r workflow.BenchResult) float64 { return r.EndToEndRate }
	line     = func(r workflow.BenchResult) float64 { return r.LineRate }
)

// rate is a figure of a run in applications per second, from the time a stage took.
func rate(d func(workflow.BenchResult) time.Duration) func(workflow.BenchResult) float64 {
	return func(r workflow.BenchResult) float64 { return float64(r.Apps) / d(r).Seconds() }
}

// spread returns the median, the lowest and the highest of figure f over the runs (of
// any benchmark).
func spread[R any](runs []R, f func(R) float64) (med, lo, hi float64) {
	v := make([]float64, len(runs))
	for i, r := range runs {
		v[i] = f(r)
	}
	slices.Sort(v)
	med = v[len(v)/2]
	if len(v)%2 == 0 {
		med = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return med, v[0], v[len(v)-1]
}

func median[R any](runs []R, f func(R) float64) float64 {
	m, _, _ := spread(runs, f)
	return m
}

// printWorkflowBench prints the table of one run, or the medians (and ranges) of several.
func printWorkflowBench(runs []workflow.BenchResult, workers int) {
	rows := []struct {
		stage string
		f     func(workflow.BenchResult) float64
	}{
		{"approved -> job on work queue (batch, outbox, JetStream)", rate(func(r workflow.BenchResult) time.Duration { return r.QueueTime })},
		{"job -> personalized -> printed -> qc_passed (consumers)", rate(func(r workflow.BenchResult) time.Duration { return r.ProduceTime })},
		{"dispatched -> at_office -> delivered", rate(func(r workflow.BenchResult) time.Duration { return r.DeliverTime })},
		{"  of which: dispatch (one shipment)", rate(func(r workflow.BenchResult) time.Duration { return r.DispatchTime })},
		{"  receipt at the office", rate(func(r workflow.BenchResult) time.Duration { return r.ReceiveTime })},
		{fmt.Sprintf("  hand-over (%d counters)", workers), rate(func(r workflow.BenchResult) time.Duration { return r.HandTime })},
		{"end to end, one stage after another", endToEnd},
		{"end to end, a working line: every stage at once (target >= 500/s)", line},
	}
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	if len(runs) == 1 {
		fmt.Fprintln(tw, "stage\tapplications\tseconds\tapps/s\t")
	} else {
		fmt.Fprintf(tw, "stage (%d runs)\tapplications\tmedian apps/s\tlowest\thighest\t\n", len(runs))
	}
	for _, row := range rows {
		med, lo, hi := spread(runs, row.f)
		if len(runs) == 1 {
			fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.0f\t\n", row.stage, runs[0].Apps, float64(runs[0].Apps)/med, med)
		} else {
			fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.0f\t%.0f\t\n", row.stage, runs[0].Apps, med, lo, hi)
		}
	}
	tw.Flush()
	balanced := true
	for _, r := range runs {
		balanced = balanced && r.Balanced
	}
	r := runs[0]
	fmt.Printf("%d state transitions, %d messages on JetStream per run, reconciliation balanced: %v\n", r.Transitions, r.Messages, balanced)
	fmt.Println("stage work here is the workflow's own (binding records, stage transitions); writing chips and rendering faces are measured by `cccd bench perso` and `cccd bench print`.")
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
