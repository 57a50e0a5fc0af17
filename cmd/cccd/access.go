package main

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/ledger"
)

// accessEnv is the configuration of reads and tokens from the environment:
// CCCD_LOOKUPS_PER_MINUTE, CCCD_LOOKUPS_PER_DAY (register look-ups per user),
// CCCD_AUTH_FAILURES, CCCD_AUTH_WINDOW (failed authentications per source) and
// CCCD_TOKEN_LIFETIME (of new and rotated tokens) and CCCD_LOOKUP_HOLD (how long a
// clerk's look-up stays open without its application). Unset: the service's defaults.
type accessEnv struct {
	limits   intake.Limits
	lifetime time.Duration
}

func loadAccessEnv() (accessEnv, error) {
	var e accessEnv
	ints := []struct {
		name string
		dst  *int
	}{{"CCCD_LOOKUPS_PER_MINUTE", &e.limits.LookupsPerMinute}, {"CCCD_LOOKUPS_PER_DAY", &e.limits.LookupsPerDay},
		{"CCCD_AUTH_FAILURES", &e.limits.AuthFailures}}
	for _, v := range ints {
		if s := os.Getenv(v.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				return e, fmt.Errorf("%s=%q: a positive integer", v.name, s)
			}
			*v.dst = n
		}
	}
	durs := []struct {
		name string
		dst  *time.Duration
	}{{"CCCD_AUTH_WINDOW", &e.limits.AuthWindow}, {"CCCD_TOKEN_LIFETIME", &e.lifetime},
		{"CCCD_LOOKUP_HOLD", &e.limits.LookupHold}}
	for _, v := range durs {
		if s := os.Getenv(v.name); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil || d <= 0 {
				return e, fmt.Errorf("%s=%q: a positive duration such as 15m or 2160h", v.name, s)
			}
			*v.dst = d
		}
	}
	return e, e.limits.Validate()
}

// closeChained chains the reads of personal data this command recorded onto the audit
// log (ledger.ChainPending), then closes db: a one-shot command leaves nothing pending
// when it can help it. Should chaining fail, the reads stay recorded in access_pending
// and the next chainer (serve, or any reader of access records) takes them.
func closeChained(ctx context.Context, db *pgxpool.Pool) {
	if _, err := ledger.ChainPending(context.WithoutCancel(ctx), db); err != nil {
		fmt.Fprintln(os.Stderr, "cccd: access records stay pending for serve to chain:", err)
	}
	db.Close()
}

// newIntake returns the intake service on db with the limits of the environment.
func newIntake(db *pgxpool.Pool) (*intake.Service, error) {
	e, err := loadAccessEnv()
	if err != nil {
		return nil, err
	}
	svc := intake.New(db)
	svc.Limits, svc.TokenLifetime = e.limits, e.lifetime
	return svc, nil
}

// localSource names the command line's source of authentications: failed ones are
// counted per operating-system user of this host.
func localSource() string {
	if u, err := user.Current(); err == nil {
		return "local:" + u.Username
	}
	return "local"
}

func init() { auditSubcommands = append(auditSubcommands, newAuditAccessCmd, newAuditAnomaliesCmd) }

// printReads prints who read the record of the applicant of receipt, once born proves it
// (`cccd status RECEIPT --date-of-birth D`); failed proofs count against this host's user.
func printReads(cmd *cobra.Command, db *pgxpool.Pool, receipt, born string) error {
	dob, err := issuance.ParseDate(born)
	if err != nil {
		return fmt.Errorf("--date-of-birth: %w", err)
	}
	svc, err := newIntake(db)
	if err != nil {
		return err
	}
	reads, err := svc.AccessesForApplicant(intake.WithSource(cmd.Context(), localSource()), receipt, dob)
	if err != nil {
		return err
	}
	if global.json {
		return printJSON(map[string]any{"receipt": receipt, "reads": reads})
	}
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tWHO\tROLE\tOFFICE\tREAD\tPURPOSE\tOUTCOME")
	for _, r := range reads {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.At.Local().Format("2006-01-02 15:04:05"), r.User, r.Role, r.Office,
			r.Kind, r.Purpose, r.Outcome)
	}
	tw.Flush()
	fmt.Printf("%s: %d reads of the applicant's record\n", receipt, len(reads))
	return nil
}

func newAuditAccessCmd() *cobra.Command {
	var f ledger.AccessFilter
	var since time.Duration
	cmd := &cobra.Command{
		Use:   "access --subject ID_NUMBER | --user NAME",
		Short: "Who read whose personal data, why and when (administrator); --json gives a citizen their list",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.IDNumber == "" && f.User == "" {
				return fmt.Errorf("audit access: give --subject ID_NUMBER, --user NAME or both")
			}
			if since > 0 {
				f.Since = time.Now().Add(-since)
			}
			return withIntake(cmd, func(svc *intake.Service, u intake.User) error {
				recs, err := svc.Accesses(cmd.Context(), u, f)
				if err != nil {
					return err
				}
				if global.json {
					return printJSON(map[string]any{"subject": f.IDNumber, "user": f.User, "reads": recs})
				}
				tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "WHEN\tUSER\tROLE\tOFFICE\tWHOSE\tREAD\tPURPOSE\tREF\tOUTCOME")
				for _, r := range recs {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.At.Local().Format("2006-01-02 15:04:05"),
						r.User, r.Role, r.Office, r.IDNumber, r.Kind, r.Purpose, r.Ref, r.Outcome)
				}
				tw.Flush()
				fmt.Printf("%d reads\n", len(recs))
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&f.IDNumber, "subject", "", "whose record: a 12-digit ID number")
	cmd.Flags().StringVar(&f.User, "user", "", "who read: a user name")
	cmd.Flags().DurationVar(&since, "since", 0, "only reads of this last period, e.g. 720h (default: all)")
	cmd.Flags().IntVar(&f.Limit, "limit", 1000, "at most this many reads, the latest")
	return cmd
}

func newAuditAnomaliesCmd() *cobra.Command {
	var c intake.AnomalyConfig
	cmd := &cobra.Command{
		Use:   "anomalies",
		Short: "Users whose reads of personal data jump, are not followed by an application, or happen outside office hours (administrator)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withIntake(cmd, func(svc *intake.Service, u intake.User) error {
				list, err := svc.Anomalies(cmd.Context(), u, c)
				if err != nil {
					return err
				}
				if global.json {
					return printJSON(list)
				}
				tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "USER\tOFFICE\tANOMALY\tCOUNT\tDETAIL")
				for _, a := range list {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", a.User, a.Office, a.Kind, a.Count, a.Detail)
				}
				tw.Flush()
				fmt.Printf("%d anomalies\n", len(list))
				return nil
			})
		},
	}
	cmd.Flags().IntVar(&c.Days, "days", 7, "baseline: days before the last 24 hours")
	cmd.Flags().Float64Var(&c.JumpFactor, "jump", 3, "report reads of the last 24 hours above this many times the daily baseline")
	cmd.Flags().IntVar(&c.MinReads, "min-reads", 20, "... and at least this many")
	cmd.Flags().IntVar(&c.Unfollowed, "unfollowed", 3, "report this many pre-fill look-ups without a following application")
	cmd.Flags().IntVar(&c.OfficeOpen, "open", 7, "office hours (Vietnam time) start at this hour")
	cmd.Flags().IntVar(&c.OfficeClose, "close", 18, "office hours end at this hour")
	return cmd
}
