package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/cccd-project/cccd/issuance/store"
	"github.com/cccd-project/cccd/issuance/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// TestMigrateConcurrently: several processes starting at once apply every migration
// exactly once (advisory lock), and a later run applies nothing.
func TestMigrateConcurrently(t *testing.T) {
	ctx := context.Background()
	url := storetest.EmptyURL(t)
	ms, err := store.Migrations()
	if err != nil || len(ms) == 0 {
		t.Fatalf("embedded migrations: %d, %v", len(ms), err)
	}
	var wg sync.WaitGroup
	applied := make([][]string, 4)
	errs := make([]error, 4)
	for i := range applied {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pool, err := store.Connect(ctx, url, 2)
			if err != nil {
				errs[i] = err
				return
			}
			defer pool.Close()
			applied[i], errs[i] = store.Migrate(ctx, pool)
		}()
	}
	wg.Wait()
	total := 0
	for i := range applied {
		if errs[i] != nil {
			t.Fatalf("runner %d: %v", i, errs[i])
		}
		total += len(applied[i])
	}
	if total != len(ms) {
		t.Fatalf("%d migrations applied by 4 concurrent runners, want each of %d once", total, len(ms))
	}
	pool, err := store.Connect(ctx, url, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	again, err := store.Migrate(ctx, pool)
	if err != nil || len(again) != 0 {
		t.Fatalf("second run applied %v, %v", again, err)
	}
	var n int
	pool.QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n)
	if n != len(ms) {
		t.Fatalf("schema_migrations has %d rows, want %d", n, len(ms))
	}
}

// TestMigrationsInOrder: versions are unique and sorted (apply order = file name).
func TestMigrationsInOrder(t *testing.T) {
	ms, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(ms); i++ {
		if ms[i-1].Version >= ms[i].Version {
			t.Fatalf("migration %s before %s", ms[i-1].Version, ms[i].Version)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (store.Config{}).Validate(); err == nil {
		t.Fatal("a config with neither URL nor data directory validated")
	}
	if _, err := store.Connect(context.Background(), "postgres://%zz", 1); err == nil {
		t.Fatal("a malformed URL connected")
	}
}
