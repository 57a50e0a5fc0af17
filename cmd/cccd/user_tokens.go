package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cccd-project/cccd/issuance/intake"
)

// userSubcommands are more `cccd user` commands: revoke, rotate and list tokens.
var userSubcommands = []func() *cobra.Command{newUserRevokeCmd, newUserRotateCmd, newUserListCmd}

// withUsers opens the database for the user administration commands, which, like
// `cccd user add`, act with the database's rights (the administrator of the host).
func withUsers(ctx context.Context, f func(svc *intake.Service) error) error {
	db, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	svc, err := newIntake(db)
	if err != nil {
		return err
	}
	return f(svc)
}

// saveToken writes a bearer token to a file only its owner reads.
func saveToken(path, token string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(token+"\n"), 0o600)
}

func newUserRevokeCmd() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "revoke NAME --reason TEXT",
		Short: "Revoke a user: their token is refused from the next request on (audited)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withUsers(cmd.Context(), func(svc *intake.Service) error {
				if err := svc.Revoke(cmd.Context(), args[0], reason); err != nil {
					return err
				}
				if global.json {
					return printJSON(map[string]any{"user": args[0], "revoked": true, "reason": reason})
				}
				fmt.Printf("user %s revoked\n", args[0])
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (1-500 characters, audited)")
	cmd.MarkFlagRequired("reason")
	return cmd
}

func newUserRotateCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "rotate NAME",
		Short: "Give a user a new token (the old one is refused at once); written to a 0600 file, never printed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				out = tokenPath(args[0])
			}
			return withUsers(cmd.Context(), func(svc *intake.Service) error {
				tok, exp, err := svc.Rotate(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if err := saveToken(out, tok); err != nil {
					return err
				}
				if global.json {
					return printJSON(map[string]any{"user": args[0], "token_file": out, "expires_at": exp})
				}
				fmt.Printf("user %s: new token saved to %s, valid until %s\n", args[0], out, exp.Local().Format("2006-01-02 15:04"))
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&out, "token-out", "", "where to write the token (default <data-dir>/tokens/NAME)")
	return cmd
}

func newUserListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "Users with their role, office, token expiry and revocation, never the token (administrator)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withIntake(cmd, func(svc *intake.Service, admin intake.User) error {
				users, err := svc.Users(cmd.Context(), admin)
				if err != nil {
					return err
				}
				if global.json {
					return printJSON(users)
				}
				tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tROLE\tOFFICE\tTOKEN EXPIRES\tSTATUS")
				for _, u := range users {
					exp, status := "never", "active"
					if u.Expires != nil {
						exp = u.Expires.Local().Format("2006-01-02 15:04")
					}
					if u.Disabled {
						status = "revoked: " + u.Reason
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Name, u.Role, u.Office, exp, status)
				}
				return tw.Flush()
			})
		},
	}
}
