package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/issuance/store"
	"github.com/cccd-project/cccd/issuance/store/pgcluster"
)

func init() {
	addCommand(newMigrateCmd)
	addCommand(newDBCmd)
	rootCmd.PersistentFlags().StringVar(&authFlags.as, "as", "", "act as this user, with the token saved in <data-dir>/tokens/NAME")
	rootCmd.PersistentFlags().StringVar(&authFlags.tokenFile, "token-file", "", "read the bearer token from this file (or set CCCD_TOKEN)")
}

// scratchDB creates a throwaway, migrated database on the configured server (or the
// private cluster) for a benchmark; drop removes it.
func scratchDB(ctx context.Context, maxConns int32) (pool *pgxpool.Pool, drop func(), err error) {
	base, err := store.ResolveURL(ctx, store.Config{DataDir: global.dataDir})
	if err != nil {
		return nil, nil, err
	}
	admin, err := store.Connect(ctx, base, 1)
	if err != nil {
		return nil, nil, err
	}
	b := make([]byte, 4)
	rand.Read(b)
	name := "cccd_bench_" + hex.EncodeToString(b)
	dropDB := func() {
		admin.Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close()
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return nil, nil, err
	}
	u, err := url.Parse(base)
	if err != nil {
		dropDB()
		return nil, nil, err
	}
	u.Path = "/" + name
	if pool, err = store.Connect(ctx, u.String(), maxConns); err == nil {
		_, err = store.Migrate(ctx, pool)
	}
	if err != nil {
		if pool != nil {
			pool.Close()
		}
		dropDB()
		return nil, nil, err
	}
	return pool, func() { pool.Close(); dropDB() }, nil
}

// openDB opens the database named by CCCD_DATABASE_URL or the private cluster under
// the data directory, migrated.
func openDB(ctx context.Context) (*pgxpool.Pool, error) {
	return store.Open(ctx, store.Config{DataDir: global.dataDir})
}

var authFlags struct{ as, tokenFile string }

func tokenPath(name string) string { return filepath.Join(global.dataDir, "tokens", name) }

// currentUser authenticates the caller from --as, --token-file or CCCD_TOKEN.
func currentUser(ctx context.Context, svc *intake.Service) (intake.User, error) {
	tok := os.Getenv("CCCD_TOKEN")
	file := authFlags.tokenFile
	if authFlags.as != "" {
		file = tokenPath(authFlags.as)
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return intake.User{}, fmt.Errorf("token: %w", err)
		}
		tok = strings.TrimSpace(string(b))
	}
	if tok == "" {
		return intake.User{}, fmt.Errorf("%w: pass --as NAME, --token-file FILE or set CCCD_TOKEN", intake.ErrUnauthenticated)
	}
	return svc.Authenticate(intake.WithSource(ctx, localSource()), tok)
}

// printJSON writes v as indented JSON to stdout.
func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func newMigrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			url, err := store.ResolveURL(cmd.Context(), store.Config{DataDir: global.dataDir})
			if err != nil {
				return err
			}
			pool, err := store.Connect(cmd.Context(), url, 2)
			if err != nil {
				return err
			}
			defer pool.Close()
			done, err := store.Migrate(cmd.Context(), pool)
			if err != nil {
				return err
			}
			if global.json {
				return printJSON(map[string]any{"applied": done})
			}
			if len(done) == 0 {
				fmt.Println("schema is up to date")
			}
			for _, v := range done {
				fmt.Println("applied", v)
			}
			return nil
		},
	}
}

func newDBCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "db", Short: "Control the private PostgreSQL cluster under the data directory"}
	cluster := func() (*pgcluster.Cluster, error) { return pgcluster.ForDataDir(global.dataDir) }
	cmd.AddCommand(&cobra.Command{
		Use: "start", Short: "Create (first time) and start the private cluster; print its URL", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cluster()
			if err != nil {
				return err
			}
			url, err := c.Ensure(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Println(url)
			return nil
		},
	}, &cobra.Command{
		Use: "stop", Short: "Stop the private cluster", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cluster()
			if err != nil {
				return err
			}
			return c.Stop(cmd.Context())
		},
	}, &cobra.Command{
		Use: "destroy", Short: "Stop the private cluster and delete it with all its data", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cluster()
			if err != nil {
				return err
			}
			return c.Remove(cmd.Context())
		},
	}, &cobra.Command{
		Use: "status", Short: "Say whether the private cluster runs", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cluster()
			if err != nil {
				return err
			}
			running := c.Running(cmd.Context())
			if global.json {
				return printJSON(map[string]any{"dir": c.Dir, "running": running, "url": c.URL(pgcluster.Database)})
			}
			fmt.Printf("cluster %s running=%v\n", c.Dir, running)
			return nil
		},
	})
	return cmd
}
