package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cccd-project/cccd/issuance/intake"
)

func init() { addCommand(newOfficeCmd) }

func newOfficeCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "office", Short: "The offices code table: where cards may be delivered (admins)"}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the offices and whether each is active",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withIntake(cmd, func(svc *intake.Service, u intake.User) error {
				offices, err := svc.Offices(cmd.Context(), u)
				if err != nil {
					return err
				}
				if global.json {
					return printJSON(offices)
				}
				for _, o := range offices {
					state := "active"
					if !o.Active {
						state = "closed"
					}
					fmt.Printf("%-12s %s\n", o.Code, state)
				}
				return nil
			})
		},
	}
	set := func(use, short string, active bool) *cobra.Command {
		return &cobra.Command{
			Use:   use + " CODE",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return withIntake(cmd, func(svc *intake.Service, u intake.User) error {
					return svc.SetOffice(cmd.Context(), u, args[0], active)
				})
			},
		}
	}
	cmd.AddCommand(list, set("open", "Enter an office (or open a closed one) as a delivery office", true),
		set("close", "Close an office: intake refuses it as a delivery office from now on", false))
	return cmd
}
