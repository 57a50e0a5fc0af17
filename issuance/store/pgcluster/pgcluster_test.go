package pgcluster_test

import (
	"context"
	"os"
	"testing"

	"github.com/cccd-project/cccd/issuance/store"
	"github.com/cccd-project/cccd/issuance/store/pgcluster"
)

// TestClusterLifecycle: first use creates and starts the cluster, a second Ensure is a
// no-op, data survives a stop and start, and Remove deletes it.
func TestClusterLifecycle(t *testing.T) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "cccdpg-")
	if err != nil {
		t.Fatal(err)
	}
	os.Setenv("CCCD_PG_FSYNC", "off")
	c, err := pgcluster.New(dir)
	if err != nil {
		t.Fatalf("%v (install Debian package postgresql)", err)
	}
	t.Cleanup(func() { c.Remove(context.Background()) })
	url, err := c.Ensure(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Running(ctx) {
		t.Fatal("cluster not running after Ensure")
	}
	again, err := c.Ensure(ctx)
	if err != nil || again != url {
		t.Fatalf("second Ensure: %q %v, want %q", again, err, url)
	}
	pool, err := store.Connect(ctx, url, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	pool.Close()
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if c.Running(ctx) {
		t.Fatal("cluster still running after Stop")
	}
	if _, err := c.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	pool, err = store.Connect(ctx, url, 1)
	if err != nil {
		t.Fatal(err)
	}
	var x int
	err = pool.QueryRow(ctx, "SELECT x FROM kept").Scan(&x)
	pool.Close()
	if err != nil || x != 42 {
		t.Fatalf("data after restart: %d %v", x, err)
	}
	if err := c.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("cluster directory left after Remove: %v", err)
	}
}
