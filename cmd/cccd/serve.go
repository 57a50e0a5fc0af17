package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"
)

func init() { addCommand(newServeCmd) }

// serveEnv is what `cccd serve` hands to the components it runs.
type serveEnv struct {
	db  *pgxpool.Pool
	log *slog.Logger
	mux *http.ServeMux
}

// serveHooks start further components of `cccd serve` (the workflow engine, ...); each
// runs until ctx ends. An error from one stops serve; nil means it had nothing (more) to do.
var serveHooks []func(ctx context.Context, env *serveEnv) error

func newServeCmd() *cobra.Command {
	var listen string
	var lookups struct{ perMinute, perDay int }
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the intake API and the workflow engine",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log := slog.New(slog.NewTextHandler(os.Stderr, nil))
			db, err := openDB(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			env := &serveEnv{db: db, log: log, mux: http.NewServeMux()}
			svc, err := newIntake(db)
			if err != nil {
				return err
			}
			if lookups.perMinute > 0 {
				svc.Limits.LookupsPerMinute = lookups.perMinute
			}
			if lookups.perDay > 0 {
				svc.Limits.LookupsPerDay = lookups.perDay
			}
			if err := svc.Limits.Validate(); err != nil {
				return err
			}
			env.mux.Handle("/", svc.Handler(log))
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return err
			}
			srv := &http.Server{Handler: env.mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
			errc := make(chan error, len(serveHooks)+1)
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			for _, h := range serveHooks {
				go func() {
					// A component that has nothing to do returns nil; only an error stops serve.
					if err := h(ctx, env); err != nil {
						errc <- err
					}
				}()
			}
			go func() {
				if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
					errc <- err
				}
			}()
			log.Info("cccd serve: intake API listening", "addr", ln.Addr().String())
			fmt.Fprintf(os.Stderr, "listening on http://%s\n", ln.Addr())
			select {
			case <-ctx.Done():
			case err = <-errc:
			}
			cancel()
			shutdown, done := context.WithTimeout(context.Background(), 10*time.Second)
			defer done()
			srv.Shutdown(shutdown)
			return err
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address of the HTTP API")
	cmd.Flags().IntVar(&lookups.perMinute, "lookups-per-minute", 0, "register look-ups per user per minute (default 10, or CCCD_LOOKUPS_PER_MINUTE)")
	cmd.Flags().IntVar(&lookups.perDay, "lookups-per-day", 0, "register look-ups per user per day (default 300, or CCCD_LOOKUPS_PER_DAY)")
	return cmd
}
