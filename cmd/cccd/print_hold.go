package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/workflow"
	"github.com/cccd-project/cccd/printqueue"
)

// newPrintDownCmd is `cccd print down PRINTER --reason TEXT`.
func newPrintDownCmd() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use: "down PRINTER --reason TEXT", Short: "Take a printer down: its queue waits until `print up`", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withEngine(cmd, intake.ProductionRoles, func(e *workflow.Engine, u intake.User) error {
				if err := printqueue.SetDown(cmd.Context(), e.DB, u.Actor(), args[0], reason); err != nil {
					return err
				}
				fmt.Printf("printer %s down: %s\n", args[0], reason)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (jammed, out of ribbon, maintenance)")
	cmd.MarkFlagRequired("reason")
	return cmd
}

// newPrintUpCmd is `cccd print up PRINTER`.
func newPrintUpCmd() *cobra.Command {
	return &cobra.Command{
		Use: "up PRINTER", Short: "Bring a printer that was taken down up again", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withEngine(cmd, intake.ProductionRoles, func(e *workflow.Engine, u intake.User) error {
				if err := printqueue.SetUp(cmd.Context(), e.DB, u.Actor(), args[0]); err != nil {
					return err
				}
				fmt.Printf("printer %s up\n", args[0])
				return nil
			})
		},
	}
}
