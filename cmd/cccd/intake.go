package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/intake"
)

func init() { addCommand(newIntakeCmd) }

// withIntake opens the database and authenticates the caller.
func withIntake(cmd *cobra.Command, f func(svc *intake.Service, u intake.User) error) error {
	db, err := openDB(cmd.Context())
	if err != nil {
		return err
	}
	defer closeChained(cmd.Context(), db)
	svc, err := newIntake(db)
	if err != nil {
		return err
	}
	u, err := currentUser(cmd.Context(), svc)
	if err != nil {
		return err
	}
	return f(svc, u)
}

// explain prints every field error of a rejected application, one per line.
func explain(err error) error {
	var ve issuance.ValidationError
	if errors.As(err, &ve) {
		var b strings.Builder
		b.WriteString("application is invalid:")
		for _, fe := range ve {
			fmt.Fprintf(&b, "\n  %s: %s", fe.Field, fe.Rule)
		}
		return errors.New(b.String())
	}
	return err
}

func newIntakeCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "intake", Short: "Take applications (clerks) and decide them (supervisors)"}

	submit := &cobra.Command{
		Use:   "submit FILE.json",
		Short: "Submit an application (clerk); '-' reads standard input",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var r io.Reader = os.Stdin
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			data, err := io.ReadAll(io.LimitReader(r, issuance.MaxApplicationJSON+1))
			if err != nil {
				return err
			}
			app, err := issuance.DecodeApplication(data)
			if err != nil {
				return err
			}
			return withIntake(cmd, func(svc *intake.Service, u intake.User) error {
				out, err := svc.Submit(cmd.Context(), u, app)
				if err != nil {
					return explain(err)
				}
				if global.json {
					return printJSON(out)
				}
				fmt.Printf("submitted: receipt %s\n", out.Receipt)
				if len(out.ChangedFields) > 0 {
					fmt.Printf("changed from the register (for the supervisor): %s\n", strings.Join(out.ChangedFields, ", "))
				}
				return nil
			})
		},
	}

	var portraitFile, reason string
	prefill := &cobra.Command{
		Use:   "prefill ID_NUMBER [--portrait FILE.jpg]",
		Short: "Print an application pre-filled from the population register (with the captured portrait), to check and submit",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var pic []byte
			if portraitFile != "" {
				var err error
				if pic, err = os.ReadFile(portraitFile); err != nil {
					return err
				}
			}
			return withIntake(cmd, func(svc *intake.Service, u intake.User) error {
				p, err := svc.Lookup(intake.WithUser(cmd.Context(), u), args[0])
				if err != nil {
					return err
				}
				return printJSON(issuance.Application{Person: p, Portrait: pic, Reason: issuance.Reason(reason), IntakeOffice: u.Office,
					Delivery: issuance.Delivery{Method: issuance.DeliveryOffice, Office: u.Office}})
			})
		},
	}
	prefill.Flags().StringVar(&portraitFile, "portrait", "", "the portrait captured at the counter (JPEG)")
	prefill.Flags().StringVar(&reason, "reason", string(issuance.ReasonFirstIssue), "first_issue, renewal_age, replace_lost, replace_damaged or change_of_data")

	var filter intake.Filter
	list := &cobra.Command{
		Use:   "list",
		Short: "List applications of your office, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withIntake(cmd, func(svc *intake.Service, u intake.User) error {
				apps, err := svc.List(cmd.Context(), u, filter)
				if err != nil {
					return err
				}
				if global.json {
					return printJSON(apps)
				}
				tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "RECEIPT\tSTATE\tID NUMBER\tNAME\tREASON\tCLERK\tCHANGED")
				for _, a := range apps {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Receipt, a.State, a.IDNumber, a.FullName, a.Reason,
						a.Clerk, strings.Join(a.ChangedFields, ","))
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&filter.State, "state", "", "only applications in this state")
	list.Flags().IntVar(&filter.Limit, "limit", 50, "at most this many")

	show := &cobra.Command{
		Use:   "show RECEIPT",
		Short: "Show one application with its timeline",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withIntake(cmd, func(svc *intake.Service, u intake.User) error {
				d, err := svc.Show(cmd.Context(), u, args[0])
				if err != nil {
					return err
				}
				if global.json {
					return printJSON(d)
				}
				a := d.Application
				fmt.Printf("%s  %s  (%s)\n", d.Receipt, d.State, a.Reason)
				rows := [][2]string{{"ID number", a.IDNumber}, {"Full name", a.FullName}, {"Date of birth", a.DateOfBirth.DDMMYYYY()},
					{"Sex", a.Sex.Vietnamese()}, {"Nationality", a.Nationality}, {"Ethnicity", a.Ethnicity}, {"Religion", a.Religion},
					{"Place of origin", a.PlaceOfOrigin}, {"Place of residence", a.PlaceOfResidence},
					{"Identifying features", a.IdentifyingFeatures}, {"Father", a.Father}, {"Mother", a.Mother}, {"Spouse", a.Spouse},
					{"Previous ID", a.PreviousIDNumber}, {"Portrait", fmt.Sprintf("%d bytes JPEG", len(a.Portrait))},
					{"Delivery", a.Delivery.Method + " " + a.Delivery.Office + " " + a.Delivery.Address},
					{"Clerk", d.Clerk}, {"Supervisor", d.Supervisor}, {"Changed from register", strings.Join(d.ChangedFields, ", ")}}
				for _, r := range rows {
					fmt.Printf("  %-22s %s\n", r[0]+":", r[1])
				}
				fmt.Println("timeline:")
				for _, s := range d.Timeline {
					fmt.Printf("  %s  %-13s %s@%s %s\n", s.At.Local().Format("2006-01-02 15:04:05"), s.State, s.Actor, s.Office, s.Note)
				}
				return nil
			})
		},
	}

	decide := func(approve bool) *cobra.Command {
		var reason string
		use, short := "approve RECEIPT...", "Approve submitted applications (a supervisor other than the clerk)"
		if !approve {
			use, short = "reject RECEIPT... --reason TEXT", "Reject submitted applications with a reason"
		}
		c := &cobra.Command{
			Use: use, Short: short, Args: cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withIntake(cmd, func(svc *intake.Service, u intake.User) error {
					var failed int
					for _, r := range args {
						err := svc.Decide(cmd.Context(), u, intake.Decision{Receipt: r, Approve: approve, Reason: reason})
						switch {
						case err != nil:
							failed++
							fmt.Fprintf(os.Stderr, "%s: %v\n", r, err)
						case !global.json:
							fmt.Printf("%s: %s\n", r, map[bool]string{true: "approved", false: "rejected"}[approve])
						}
					}
					if global.json {
						printJSON(map[string]int{"decided": len(args) - failed, "failed": failed})
					}
					if failed > 0 {
						return fmt.Errorf("%d of %d not decided", failed, len(args))
					}
					return nil
				})
			},
		}
		if !approve {
			c.Flags().StringVar(&reason, "reason", "", "why the application is rejected (required)")
			c.MarkFlagRequired("reason")
		}
		return c
	}
	release := &cobra.Command{
		Use:   "release",
		Short: "Give up your open register look-up (the citizen did not apply), so that you may look up someone else",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withIntake(cmd, func(svc *intake.Service, u intake.User) error {
				id, err := svc.Release(cmd.Context(), u)
				if err != nil {
					return err
				}
				if global.json {
					return printJSON(map[string]any{"released": id != "", "id_number": id})
				}
				if id == "" {
					fmt.Println("no look-up was open")
				} else {
					fmt.Println("gave up the look-up of", id)
				}
				return nil
			})
		},
	}

	cmd.AddCommand(submit, prefill, release, list, show, decide(true), decide(false))
	return cmd
}
