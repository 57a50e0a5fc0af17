// Package store opens the PostgreSQL database that is the source of truth of cccd and
// keeps its schema current with embedded SQL migrations.
//
// The database is selected by CCCD_DATABASE_URL; when it is unset, a private cluster
// under the data directory is created and started on first use (see pgcluster).
package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cccd-project/cccd/issuance/store/pgcluster"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Config selects the database. The zero value uses a private cluster under DataDir.
type Config struct {
	URL      string // PostgreSQL connection string; default $CCCD_DATABASE_URL
	DataDir  string // where the private cluster lives when URL is empty
	MaxConns int32  // pool size; 0 = pgx default (max(4, NumCPU))
}

// FromEnv fills URL from CCCD_DATABASE_URL when it is empty.
func (c Config) FromEnv() Config {
	if c.URL == "" {
		c.URL = os.Getenv("CCCD_DATABASE_URL")
	}
	return c
}

// Validate checks that a database can be chosen.
func (c Config) Validate() error {
	if c.URL == "" && c.DataDir == "" {
		return fmt.Errorf("store: neither a database URL (CCCD_DATABASE_URL) nor a data directory is set")
	}
	return nil
}

// ResolveURL returns the database URL, starting the private cluster when needed.
func ResolveURL(ctx context.Context, c Config) (string, error) {
	c = c.FromEnv()
	if err := c.Validate(); err != nil {
		return "", err
	}
	if c.URL != "" {
		return c.URL, nil
	}
	cl, err := pgcluster.ForDataDir(c.DataDir)
	if err != nil {
		return "", err
	}
	return cl.Ensure(ctx)
}

// Open connects a pool (starting the private cluster when needed) and applies pending
// migrations.
func Open(ctx context.Context, c Config) (*pgxpool.Pool, error) {
	url, err := ResolveURL(ctx, c)
	if err != nil {
		return nil, err
	}
	pool, err := Connect(ctx, url, c.MaxConns)
	if err != nil {
		return nil, err
	}
	if _, err := Migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// Connect opens a pool on url without migrating.
func Connect(ctx context.Context, url string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: database URL: %w", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	return pool, nil
}

// migrationLock is the advisory lock key that serialises migration runners.
const migrationLock = 0x63636364 // "cccd"

// Migration is one embedded schema file.
type Migration struct {
	Version string // file name without .sql, e.g. "0001_intake"
	SQL     string
}

// Migrations lists the embedded migrations in apply order.
func Migrations() ([]Migration, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]Migration, 0, len(names))
	for _, n := range names {
		b, err := migrations.ReadFile(n)
		if err != nil {
			return nil, err
		}
		v := strings.TrimSuffix(strings.TrimPrefix(n, "migrations/"), ".sql")
		out = append(out, Migration{Version: v, SQL: string(b)})
	}
	return out, nil
}

// Migrate applies every pending migration, each in its own transaction, holding an
// advisory lock so that concurrent processes apply each file exactly once. It returns
// the versions applied.
func Migrate(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return nil, fmt.Errorf("store: migrate: lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLock)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	applied := map[string]bool{}
	rows, err := conn.Query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	for _, v := range vs {
		applied[v] = true
	}
	var done []string
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", m.Version)
			return err
		})
		if err != nil {
			return done, fmt.Errorf("store: migration %s: %w", m.Version, err)
		}
		done = append(done, m.Version)
	}
	return done, nil
}
