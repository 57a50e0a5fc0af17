package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cccd-project/cccd/issuance/console"
)

func newUserPasswdCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "passwd NAME [--password-file F]",
		Short: "Set a user's web console password (read from a file or the first line of stdin, never from the command line)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var in io.Reader = os.Stdin
			if file != "" {
				f, err := os.Open(file)
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			} else if fi, err := os.Stdin.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				fmt.Fprint(os.Stderr, "password (echoed; prefer --password-file): ")
			}
			line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
			if err != nil && err != io.EOF {
				return err
			}
			password := strings.TrimRight(line, "\r\n")
			db, err := openDB(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			if err := console.SetPassword(cmd.Context(), db, args[0], password); err != nil {
				return err
			}
			if global.json {
				return printJSON(map[string]string{"user": args[0], "password": "set"})
			}
			fmt.Printf("console password of %s set; its console sessions were ended\n", args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "password-file", "", "file whose first line is the password")
	return cmd
}
