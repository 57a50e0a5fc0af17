package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cccd-project/cccd/hsm/authority"
	"github.com/cccd-project/cccd/issuance/console"
	"github.com/cccd-project/cccd/issuance/ledger"
	"github.com/cccd-project/cccd/issuance/workflow"
)

func init() { addCommand(newServeCmd) }

// serveEnv is what `cccd serve` hands to the components it runs.
type serveEnv struct {
	db  *pgxpool.Pool
	log *slog.Logger
	mux *http.ServeMux
	// feed brings the workflow's events to the console's live screens; the workflow
	// hook connects it to the broker it starts.
	feed *workflow.Feed
}

// serveHooks start further components of `cccd serve` (the workflow engine, ...); each
// runs until ctx ends. An error from one stops serve; nil means it had nothing (more) to do.
var serveHooks []func(ctx context.Context, env *serveEnv) error

// serveFlags add the flags of those components to `cccd serve`.
var serveFlags []func(f *pflag.FlagSet)

func newServeCmd() *cobra.Command {
	var listen string
	var lookups struct{ perMinute, perDay int }
	var tlsCfg serveTLSConfig
	var publicURL string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the intake API, the web console and the workflow engine",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			tc, err := tlsCfg.config(listen)
			if err != nil {
				return err
			}
			log := newLogger("serve")
			db, err := openDB(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			env := &serveEnv{db: db, log: log, mux: http.NewServeMux(), feed: &workflow.Feed{Log: log}}
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
			api := svc.Handler(log)
			env.mux.Handle("/api/", api)
			env.mux.Handle("/status/", api)
			// The web console: its cookies are Secure, as every request comes over TLS.
			// The PKI overview only lists (no key store needed).
			pkiView, err := authority.New(db, nil, pkiConfig())
			if err != nil {
				log.Warn("cccd serve: console PKI overview disabled", "err", err)
				pkiView = nil
			}
			if publicURL == "" {
				publicURL = "https://" + listen
			}
			con, err := console.New(console.Config{DB: db, Log: log, Intake: svc, PKI: pkiView, PublicURL: publicURL,
				Production: console.Production{Feed: env.feed, TrustDir: trustDir()}})
			if err != nil {
				return err
			}
			env.mux.Handle("/console/", con)
			env.mux.Handle("GET /{$}", http.RedirectHandler("/console/", http.StatusSeeOther))
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return err
			}
			ln = tls.NewListener(ln, tc)
			errc := make(chan error, len(serveHooks)+1)
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			// Requests live in serve's context: the console's event streams end when serve stops.
			srv := &http.Server{Handler: env.mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
				BaseContext: func(net.Listener) context.Context { return ctx }}
			// Reads of personal data are recorded on the request path and chained onto the
			// audit log here, in sets; the last ones when serve stops.
			go svc.ChainReads(ctx, 250*time.Millisecond, log)
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
			fmt.Fprintf(os.Stderr, "listening on https://%s (web console: https://%s/console/)\n", ln.Addr(), ln.Addr())
			select {
			case <-ctx.Done():
			case err = <-errc:
			}
			cancel()
			shutdown, done := context.WithTimeout(context.Background(), 10*time.Second)
			defer done()
			srv.Shutdown(shutdown)
			if _, cerr := ledger.ChainPending(shutdown, db); cerr != nil {
				log.Error("cccd serve: chaining the last access records", "err", cerr)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8080", "address of the HTTPS API and the web console")
	tlsCfg.flags(cmd.Flags())
	cmd.Flags().StringVar(&publicURL, "public-url", "", "address applicants use for the status page, printed on receipt slips (default https://<listen>)")
	cmd.Flags().IntVar(&lookups.perMinute, "lookups-per-minute", 0, "register look-ups per user per minute (default 10, or CCCD_LOOKUPS_PER_MINUTE)")
	cmd.Flags().IntVar(&lookups.perDay, "lookups-per-day", 0, "register look-ups per user per day (default 300, or CCCD_LOOKUPS_PER_DAY)")
	for _, f := range serveFlags {
		f(cmd.Flags())
	}
	return cmd
}
