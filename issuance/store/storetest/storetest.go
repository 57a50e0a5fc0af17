// Package storetest gives each test a fresh PostgreSQL database with every migration
// applied: on the server named by CCCD_TEST_DATABASE_URL when it is set, otherwise on a
// private cluster that this package starts for the test binary and removes at the end.
//
// A package that uses it must run its tests through Main:
//
//	func TestMain(m *testing.M) { storetest.Main(m) }
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cccd-project/cccd/issuance/store"
	"github.com/cccd-project/cccd/issuance/store/pgcluster"
)

var (
	mainRan  bool
	once     sync.Once
	server   string // admin URL of the server (database "postgres")
	template string // name of the migrated template database
	cluster  *pgcluster.Cluster
	setupErr error
)

// Main runs the tests and then removes the private cluster, if one was started.
func Main(m *testing.M) {
	mainRan = true
	code := m.Run()
	if cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		if err := cluster.Remove(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "storetest:", err)
		}
		cancel()
	}
	os.Exit(code)
}

func randomName(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func withDatabase(u, name string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("storetest: database URL: %w", err)
	}
	p.Path = "/" + name
	return p.String(), nil
}

func setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	base := os.Getenv("CCCD_TEST_DATABASE_URL")
	if base == "" {
		dir, err := os.MkdirTemp("", "cccdpg-")
		if err != nil {
			return err
		}
		os.Setenv("CCCD_PG_FSYNC", "off")
		if cluster, err = pgcluster.New(dir); err != nil {
			return err
		}
		if base, err = cluster.Ensure(ctx); err != nil {
			return err
		}
	}
	var err error
	if server, err = withDatabase(base, "postgres"); err != nil {
		return err
	}
	admin, err := store.Connect(ctx, server, 2)
	if err != nil {
		return err
	}
	defer admin.Close()
	template = randomName("cccd_tmpl_")
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+template); err != nil {
		return fmt.Errorf("storetest: create template: %w", err)
	}
	tu, _ := withDatabase(server, template)
	pool, err := store.Connect(ctx, tu, 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	_, err = store.Migrate(ctx, pool)
	return err
}

// EmptyURL creates a fresh database without any migration (for tests of the migration
// runner itself), dropped when the test ends.
func EmptyURL(t testing.TB) string { return fresh(t, false) }

// URL creates a fresh, migrated database for the test, drops it when the test ends,
// and returns its connection URL (for tests that run cccd processes).
func URL(t testing.TB) string { return fresh(t, true) }

func fresh(t testing.TB, migrated bool) string {
	t.Helper()
	if !mainRan {
		t.Fatal("storetest: the package must run its tests through storetest.Main (func TestMain(m *testing.M) { storetest.Main(m) })")
	}
	once.Do(func() { setupErr = setup() })
	if setupErr != nil {
		t.Fatalf("storetest: no PostgreSQL for tests (set CCCD_TEST_DATABASE_URL or install Debian package postgresql): %v", setupErr)
	}
	ctx := context.Background()
	admin, err := store.Connect(ctx, server, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := randomName("cccd_test_")
	create := "CREATE DATABASE " + name
	if migrated {
		create += " TEMPLATE " + template // set by setup, which has run by now
	}
	if _, err := admin.Exec(ctx, create); err != nil {
		t.Fatalf("storetest: create database: %v", err)
	}
	t.Cleanup(func() {
		a, err := store.Connect(context.Background(), server, 1)
		if err != nil {
			t.Errorf("storetest: drop database: %v", err)
			return
		}
		defer a.Close()
		if _, err := a.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("storetest: drop database: %v", err)
		}
	})
	u, err := withDatabase(server, name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// New returns a pool on a fresh, migrated database that is dropped when the test ends.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := store.Connect(context.Background(), URL(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}
