package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cccd-project/cccd/issuance/intake"
)

func init() { addCommand(newUserCmd) }

func newUserCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage users and their tokens"}
	var u intake.User
	var out string
	add := &cobra.Command{
		Use:   "add NAME --role ROLE --office OFFICE",
		Short: "Create a user; its token is written to a 0600 file, never printed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			u.Name = args[0]
			if out == "" {
				out = tokenPath(u.Name)
			}
			db, err := openDB(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			svc, err := newIntake(db)
			if err != nil {
				return err
			}
			tok, err := svc.AddUser(cmd.Context(), u)
			if err != nil {
				return err
			}
			if err := saveToken(out, tok); err != nil {
				return err
			}
			if global.json {
				return printJSON(map[string]string{"user": u.Name, "role": u.Role, "office": u.Office, "token_file": out})
			}
			fmt.Printf("user %s (%s at %s) created; token saved to %s\n", u.Name, u.Role, u.Office, out)
			return nil
		},
	}
	add.Flags().StringVar(&u.Role, "role", "", "clerk, supervisor, operator, verifier or admin")
	add.Flags().StringVar(&u.Office, "office", "", "office code, e.g. 001-HK01")
	add.Flags().StringVar(&out, "token-out", "", "where to write the token (default <data-dir>/tokens/NAME)")
	add.MarkFlagRequired("role")
	add.MarkFlagRequired("office")
	cmd.AddCommand(add, newUserPasswdCmd())
	for _, f := range userSubcommands {
		cmd.AddCommand(f())
	}
	return cmd
}
