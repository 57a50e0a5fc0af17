package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/ledger"
)

func init() {
	addCommand(newStatusCmd)
	addCommand(newAuditCmd)
}

func newStatusCmd() *cobra.Command {
	var born string
	cmd := &cobra.Command{
		Use:   "status RECEIPT [--date-of-birth YYYY-MM-DD]",
		Short: "Where an application is: its state and timeline (no personal data); with the date of birth, who read the record and why",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := openDB(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			if born != "" {
				return printReads(cmd, db, args[0], born)
			}
			st, err := intake.New(db).Status(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if global.json {
				return printJSON(st)
			}
			paused := ""
			if st.Paused {
				paused = " (paused)"
			}
			fmt.Printf("%s: %s%s\n", st.Receipt, st.State, paused)
			for _, s := range st.Timeline {
				fmt.Printf("  %s  %-13s %s\n", s.At.Local().Format("2006-01-02 15:04:05"), s.State, s.Office)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&born, "date-of-birth", "", "the applicant's date of birth (YYYY-MM-DD): proves the receipt and lists who read the record")
	return cmd
}

// auditSubcommands are more `cccd audit` commands, from other files.
var auditSubcommands []func() *cobra.Command

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "The hash-chained audit log"}
	for _, f := range auditSubcommands {
		cmd.AddCommand(f())
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "verify",
		Short: "Recompute the audit chain; exit 1 if any row was edited or deleted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := openDB(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			rep, err := ledger.VerifyAudit(cmd.Context(), db)
			if err != nil {
				return err
			}
			if global.json {
				printJSON(rep)
			} else {
				for _, p := range rep.Problems {
					fmt.Printf("chain %d row %d: %s\n", p.Chain, p.Seq, p.Reason)
				}
				fmt.Printf("audit log: %d rows in %d chains: %s\n", rep.Rows, ledger.Chains, map[bool]string{true: "intact", false: "TAMPERED"}[rep.OK()])
			}
			if !rep.OK() {
				return &exitError{1, fmt.Errorf("audit log: %d problems", len(rep.Problems))}
			}
			return nil
		},
	})
	return cmd
}
