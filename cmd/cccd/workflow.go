package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cccd-project/cccd/issuance/broker"
	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/lifecycle"
	"github.com/cccd-project/cccd/issuance/workflow"
)

func init() {
	addCommand(newBatchCmd)
	addCommand(newDispatchCmd)
	addCommand(newDeliverCmd)
	addCommand(newWorkflowCmd)
	addCommand(newAppCmd)
	serveHooks = append(serveHooks, runWorkflowEngine)
	serveFlags = append(serveFlags, func(f *pflag.FlagSet) {
		f.IntVar(&serveStreams.Replicas, "replicas", envInt("CCCD_NATS_REPLICAS", 1), "copies of each workflow stream and consumer: 3 on a NATS cluster, 1 embedded (env CCCD_NATS_REPLICAS)")
		f.StringVar(&serveStreams.Cluster, "placement-cluster", os.Getenv("CCCD_NATS_PLACEMENT_CLUSTER"), "NATS cluster that holds the streams (env CCCD_NATS_PLACEMENT_CLUSTER)")
		f.StringSliceVar(&serveStreams.Tags, "placement-tag", nil, "server tag the stream's nodes must have (repeat)")
	})
}

// serveStreams is how `cccd serve` keeps the workflow streams (--replicas, placement).
var serveStreams workflow.Streams

// envInt is an integer environment variable, or def when unset or not a number.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return n
	}
	return def
}

// natsStoreDir is where the embedded broker keeps JetStream.
func natsStoreDir() string { return filepath.Join(global.dataDir, "nats") }

// runWorkflowEngine is the part of `cccd serve` that publishes the outbox to JetStream.
// Stations (`cccd station`) and the print queue consume from it.
func runWorkflowEngine(ctx context.Context, env *serveEnv) error {
	b, err := broker.Connect(ctx, broker.Config{StoreDir: natsStoreDir(), Listen: true, Name: "cccd-serve"})
	if err != nil {
		return err
	}
	defer b.Close()
	err = serveStreams.EnsureWhenReady(ctx, b.JS, func(err error) {
		env.log.Warn("cccd serve: workflow streams not ready; retrying", "err", err)
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	where := "embedded broker at " + b.ClientURL() + " (store " + natsStoreDir() + ")"
	if !b.Embedded() {
		where = "NATS at " + b.ClientURL()
	}
	if env.feed != nil {
		env.feed.JS = b.JS
		go env.feed.Run(ctx) // the console's live screens
	}
	env.log.Info("cccd serve: workflow relay running", "broker", where)
	return (&workflow.Relay{DB: env.db, JS: b.JS, Log: env.log}).Run(ctx)
}

// withEngine opens the database, authenticates the caller and checks the role.
func withEngine(cmd *cobra.Command, roles []string, f func(e *workflow.Engine, u intake.User) error) error {
	db, err := openDB(cmd.Context())
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := currentUser(cmd.Context(), intake.New(db))
	if err != nil {
		return err
	}
	if err := intake.Require(u, roles...); err != nil {
		return err
	}
	return f(&workflow.Engine{DB: db}, u)
}

func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%q is not an ID (a positive number)", s)
	}
	return id, nil
}

func newBatchCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "batch", Short: "Production batches (operators)"}
	var line, office string
	var max int
	create := &cobra.Command{
		Use: "create --line L", Short: "Group approved applications into batches, one per receiving office", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withEngine(cmd, intake.ProductionRoles, func(e *workflow.Engine, u intake.User) error {
				bs, err := e.CreateBatches(cmd.Context(), u.Actor(), line, office, max)
				if err != nil {
					return err
				}
				if global.json {
					return printJSON(bs)
				}
				for _, b := range bs {
					fmt.Printf("batch %d: line %s, office %s, %d applications\n", b.ID, b.Line, b.Office, b.Applications)
				}
				return nil
			})
		},
	}
	create.Flags().StringVar(&line, "line", "", "production line")
	create.Flags().StringVar(&office, "office", "", "only applications delivered at this office")
	create.Flags().IntVar(&max, "max", 0, "at most this many applications (0 = all)")
	create.MarkFlagRequired("line")

	idCmd := func(use, short string, f func(*cobra.Command, *workflow.Engine, intake.User, int64) error) *cobra.Command {
		return &cobra.Command{Use: use + " BATCH", Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				id, err := parseID(args[0])
				if err != nil {
					return err
				}
				return withEngine(cmd, intake.ProductionRoles, func(e *workflow.Engine, u intake.User) error { return f(cmd, e, u, id) })
			}}
	}
	start := idCmd("start", "Queue a batch: each application gets a personalization job on its line",
		func(cmd *cobra.Command, e *workflow.Engine, u intake.User, id int64) error {
			n, err := e.StartBatch(cmd.Context(), u.Actor(), id)
			if err != nil {
				return err
			}
			if global.json {
				return printJSON(map[string]any{"batch": id, "queued": n})
			}
			fmt.Printf("batch %d started: %d jobs queued\n", id, n)
			return nil
		})
	pause := idCmd("pause", "Pause a running batch", func(cmd *cobra.Command, e *workflow.Engine, u intake.User, id int64) error {
		return e.SetBatchPaused(cmd.Context(), u.Actor(), id, true)
	})
	resume := idCmd("resume", "Resume a paused batch", func(cmd *cobra.Command, e *workflow.Engine, u intake.User, id int64) error {
		return e.SetBatchPaused(cmd.Context(), u.Actor(), id, false)
	})
	var watch time.Duration
	status := &cobra.Command{
		Use: "status [BATCH]", Short: "Per-state counts, throughput, spoilage and ETA (all batches without an argument)", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withEngine(cmd, intake.ProductionViewRoles, func(e *workflow.Engine, u intake.User) error {
				for {
					if err := printBatchStatus(cmd.Context(), e, args); err != nil || watch == 0 {
						return err
					}
					select {
					case <-cmd.Context().Done():
						return nil
					case <-time.After(watch):
					}
				}
			})
		},
	}
	status.Flags().DurationVar(&watch, "watch", 0, "refresh every interval (e.g. 2s) until interrupted")
	var day string
	reconcile := &cobra.Command{
		Use: "reconcile [BATCH] [--day YYYY-MM-DD]", Short: "Account for every card: started = issued + spoiled + in stock + in transit", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withEngine(cmd, intake.ProductionViewRoles, func(e *workflow.Engine, u intake.User) error {
				var r workflow.Reconciliation
				var err error
				switch {
				case len(args) == 1:
					id, perr := parseID(args[0])
					if perr != nil {
						return perr
					}
					r, err = e.ReconcileBatch(cmd.Context(), id)
				case day != "":
					r, err = e.ReconcileDay(cmd.Context(), day)
				default:
					r, err = e.ReconcileDay(cmd.Context(), workflow.Day(time.Now()))
				}
				if err != nil {
					return err
				}
				if global.json {
					printJSON(r)
				} else {
					fmt.Printf("reconciliation, %s\n  started    %6d\n  issued     %6d\n  spoiled    %6d\n  in stock   %6d\n  in transit %6d\n",
						r.Scope, r.Started, r.Issued, r.Spoiled, r.InStock, r.InTransit)
					for _, d := range r.Differences {
						fmt.Printf("  DIFFERENCE card %s (%s, application %s %s): %s\n", d.Serial, d.Card, d.Receipt, d.App, d.Problem)
					}
					for _, d := range r.Held {
						fmt.Printf("  HELD card %s (application %s): written, face not printed: %s\n", d.Serial, d.Receipt, d.Problem)
					}
					fmt.Printf("  %s\n", map[bool]string{true: "balanced", false: "NOT BALANCED"}[r.Balanced()])
				}
				if !r.Balanced() {
					return &exitError{1, fmt.Errorf("reconciliation of %s does not balance", r.Scope)}
				}
				return nil
			})
		},
	}
	reconcile.Flags().StringVar(&day, "day", "", "reconcile the cards started on this day instead (default today)")
	cmd.AddCommand(create, start, pause, resume, status, reconcile)
	return cmd
}

func printBatchStatus(ctx context.Context, e *workflow.Engine, args []string) error {
	var ids []int64
	if len(args) == 1 {
		id, err := parseID(args[0])
		if err != nil {
			return err
		}
		ids = []int64{id}
	} else {
		bs, err := e.Batches(ctx, 20)
		if err != nil {
			return err
		}
		for _, b := range bs {
			ids = append(ids, b.ID)
		}
	}
	var all []workflow.BatchStatus
	for _, id := range ids {
		s, err := e.Status(ctx, id)
		if err != nil {
			return err
		}
		all = append(all, s)
	}
	if global.json {
		return printJSON(all)
	}
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BATCH\tLINE\tOFFICE\tSTATE\tAPPS\tDONE\tSPOILED\tCARDS/MIN\tETA\tBY STATE")
	for _, s := range all {
		var states []string
		for k, v := range s.Applications {
			states = append(states, fmt.Sprintf("%s=%d", k, v))
		}
		sort.Strings(states)
		eta := "-"
		if s.ETA > 0 {
			eta = s.ETA.Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%d (%.1f%%)\t%.1f\t%s\t%s\n", s.ID, s.Line, s.Office, s.State, s.Batch.Applications,
			s.Done, s.Spoiled, 100*s.SpoilageRate, s.CardsPerMin, eta, strings.Join(states, " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range all {
		if s.PrintHeld > 0 {
			fmt.Printf("batch %d: %d card(s) written but their face could not be printed: remedies in `cccd batch reconcile %d` and `cccd workflow dead`\n",
				s.ID, s.PrintHeld, s.ID)
		}
	}
	return nil
}

func newDispatchCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "dispatch", Short: "Shipments from the production centre to receiving offices"}
	var office string
	var max int
	create := &cobra.Command{
		Use: "create --office OFFICE", Short: "Ship every card that passed QC for an office, with a manifest", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withEngine(cmd, intake.ProductionRoles, func(e *workflow.Engine, u intake.User) error {
				s, err := e.Dispatch(cmd.Context(), u.Actor(), office, max)
				if err != nil {
					return err
				}
				return printShipment(s, "dispatched")
			})
		},
	}
	create.Flags().StringVar(&office, "office", "", "receiving office")
	create.Flags().IntVar(&max, "max", 0, "at most this many cards (0 = all ready)")
	create.MarkFlagRequired("office")
	receive := &cobra.Command{
		Use: "receive SHIPMENT", Short: "Record a shipment's arrival at your office", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			return withEngine(cmd, intake.OfficeRoles, func(e *workflow.Engine, u intake.User) error {
				s, err := e.Receive(cmd.Context(), u.Actor(), id)
				if err != nil {
					return err
				}
				return printShipment(s, "received")
			})
		},
	}
	cmd.AddCommand(create, receive)
	return cmd
}

func printShipment(s workflow.Shipment, what string) error {
	if global.json {
		return printJSON(s)
	}
	fmt.Printf("shipment %d to %s %s: %d cards\n", s.ID, s.Office, what, len(s.Items))
	for _, it := range s.Items {
		fmt.Printf("  %s  %s\n", it.Serial, it.Receipt)
	}
	return nil
}

func newDeliverCmd() *cobra.Command {
	var h workflow.Handover
	var ret bool
	cmd := &cobra.Command{
		Use:   "deliver RECEIPT --received-by NAME",
		Short: "Hand a card over to its holder at the office (or --return it)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			h.Receipt, h.Outcome = args[0], "delivered"
			if ret {
				h.Outcome = "returned"
			}
			return withEngine(cmd, intake.OfficeRoles, func(e *workflow.Engine, u intake.User) error {
				return handOver(cmd, e, u, h)
			})
		},
	}
	cmd.Flags().StringVar(&h.ReceivedBy, "received-by", "", "name of the person who received the card")
	cmd.Flags().StringVar(&h.Note, "note", "", "note for the record")
	cmd.Flags().BoolVar(&ret, "return", false, "record that the card is returned instead of handed over")
	return cmd
}

// handOver records the hand-over; verification of the card is added by verify.go.
var handOver = func(cmd *cobra.Command, e *workflow.Engine, u intake.User, h workflow.Handover) error {
	if err := e.Hand(cmd.Context(), u.Actor(), h); err != nil {
		return err
	}
	return printHandover(h)
}

func printHandover(h workflow.Handover) error {
	if global.json {
		return printJSON(h)
	}
	fmt.Printf("%s: card %s\n", h.Receipt, h.Outcome)
	return nil
}

func newWorkflowCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "workflow", Short: "Dead letters of the workflow (operators, administrators)"}
	var all bool
	dead := &cobra.Command{
		Use: "dead", Short: "List messages a consumer gave up on", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withEngine(cmd, intake.DeadLetterRoles, func(e *workflow.Engine, u intake.User) error {
				ds, err := e.DeadLetters(cmd.Context(), all)
				if err != nil {
					return err
				}
				if global.json {
					return printJSON(ds)
				}
				tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tSTATE\tCONSUMER\tSUBJECT\tDELIVERIES\tERROR")
				for _, d := range ds {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\n", d.ID, d.State, d.Consumer, d.Subject, d.Deliveries, d.Error)
				}
				return tw.Flush()
			})
		},
	}
	dead.Flags().BoolVar(&all, "all", false, "include retried and rejected ones")
	retry := &cobra.Command{
		Use: "retry ID", Short: "Publish a dead letter again", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			return withEngine(cmd, intake.DeadLetterRoles, func(e *workflow.Engine, u intake.User) error {
				return e.RetryDeadLetter(cmd.Context(), u.Actor(), id)
			})
		},
	}
	var reason string
	reject := &cobra.Command{
		Use: "reject ID --reason TEXT", Short: "Close a dead letter without retrying", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			return withEngine(cmd, intake.DeadLetterRoles, func(e *workflow.Engine, u intake.User) error {
				return e.RejectDeadLetter(cmd.Context(), u.Actor(), id, reason)
			})
		},
	}
	reject.Flags().StringVar(&reason, "reason", "", "why")
	reject.MarkFlagRequired("reason")
	cmd.AddCommand(dead, retry, reject)
	return cmd
}

func newAppCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "app", Short: "Pause, resume or re-run an application (administrators)"}
	pause := func(p bool) *cobra.Command {
		use := map[bool]string{true: "pause", false: "resume"}[p]
		return &cobra.Command{Use: use + " RECEIPT", Short: strings.ToUpper(use[:1]) + use[1:] + " an application", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withEngine(cmd, intake.AdminRoles, func(e *workflow.Engine, u intake.User) error {
					return e.SetPaused(cmd.Context(), u.Actor(), args[0], p)
				})
			}}
	}
	var from, reason string
	rerun := &cobra.Command{
		Use: "rerun RECEIPT --from approved|queued --reason TEXT", Short: "Re-run an application from an earlier stage (its current card is destroyed)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withEngine(cmd, intake.AdminRoles, func(e *workflow.Engine, u intake.User) error {
				return e.Rerun(cmd.Context(), u.Actor(), args[0], lifecycle.AppState(from), reason)
			})
		},
	}
	rerun.Flags().StringVar(&from, "from", "queued", "stage to re-run from: approved or queued")
	rerun.Flags().StringVar(&reason, "reason", "", "why")
	rerun.MarkFlagRequired("reason")
	cmd.AddCommand(pause(true), pause(false), rerun)
	return cmd
}
