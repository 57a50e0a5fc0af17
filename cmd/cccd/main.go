// Command cccd is the production line controller for chip identity cards: intake,
// workflow, personalization stations, print queue, delivery and counter verification.
//
// Each subcommand lives in its own file of this package and registers itself with
// addCommand from an init function; the files only parse flags and wire dependencies.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
)

// exitError carries a specific process exit code (e.g. verify: 1 not genuine, 2 unreadable).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// globals are the flags every subcommand shares.
type globals struct {
	dataDir string
	json    bool
}

var (
	global  globals
	rootCmd = &cobra.Command{
		Use:           "cccd",
		Short:         "Production line controller for chip identity cards (căn cước)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	subcommands []func() *cobra.Command
)

// addCommand registers a subcommand constructor; called from init functions.
func addCommand(f func() *cobra.Command) { subcommands = append(subcommands, f) }

func defaultDataDir() string {
	if d := os.Getenv("CCCD_DATA_DIR"); d != "" {
		return d
	}
	if d, err := os.UserHomeDir(); err == nil {
		return filepath.Join(d, ".local", "share", "cccd")
	}
	return ".cccd"
}

func main() {
	rootCmd.PersistentFlags().StringVar(&global.dataDir, "data-dir", defaultDataDir(),
		"directory for the private database cluster, broker store, keys and outputs (env CCCD_DATA_DIR)")
	rootCmd.PersistentFlags().BoolVar(&global.json, "json", false, "print machine-readable JSON")
	for _, f := range subcommands {
		rootCmd.AddCommand(f())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := rootCmd.ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cccd:", err)
		var ee *exitError
		if errors.As(err, &ee) {
			os.Exit(ee.code)
		}
		os.Exit(1)
	}
}
