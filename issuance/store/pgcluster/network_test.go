package pgcluster_test

import (
	"context"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cccd-project/cccd/issuance/site"
	"github.com/cccd-project/cccd/issuance/store"
	"github.com/cccd-project/cccd/issuance/store/pgcluster"
)

// freePort is a loopback TCP port free at the time of the call (PostgreSQL cannot be
// handed a listener).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestNetworkTLSOnly: a networked cluster serves a client that verifies the server and
// presents a certificate of the site CA over TLS, and refuses a plain connection, a
// client without a certificate and a client with a certificate of another CA; a client
// that trusts another CA refuses the server.
func TestNetworkTLSOnly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	os.Setenv("CCCD_PG_FSYNC", "off")
	pki := t.TempDir()
	ca, err := site.OpenCA(pki)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Issue("db", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.Issue("postgres", nil)
	if err != nil {
		t.Fatal(err)
	}
	rogueCA, err := site.OpenCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rogue, err := rogueCA.Issue("postgres", nil)
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "cccdpg-tls-")
	if err != nil {
		t.Fatal(err)
	}
	c, err := pgcluster.New(dir)
	if err != nil {
		t.Fatalf("%v (install Debian package postgresql)", err)
	}
	port := freePort(t)
	c.Network = &pgcluster.Network{Listen: "127.0.0.1", Port: port, CertFile: srv.CertFile, KeyFile: srv.KeyFile, CAFile: ca.CAFile()}
	t.Cleanup(func() { c.Remove(context.Background()) })
	if _, err := c.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	good := pgcluster.NetworkURL("127.0.0.1", port, pgcluster.Database, ca.CAFile(), client.CertFile, client.KeyFile)
	pool, err := store.Connect(ctx, good, 1)
	if err != nil {
		t.Fatalf("client with the site's certificate: %v", err)
	}
	var ssl bool
	var version string
	err = pool.QueryRow(ctx, "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl, &version)
	pool.Close()
	if err != nil || !ssl {
		t.Fatalf("connection not over TLS: ssl=%v %v", ssl, err)
	}
	t.Logf("connected over %s", version)
	refused := map[string]string{
		"plain":                     "postgres://postgres@127.0.0.1:" + strconv.Itoa(port) + "/cccd?sslmode=disable",
		"no client certificate":     "postgres://postgres@127.0.0.1:" + strconv.Itoa(port) + "/cccd?sslmode=verify-full&sslrootcert=" + ca.CAFile(),
		"certificate of another CA": pgcluster.NetworkURL("127.0.0.1", port, "cccd", ca.CAFile(), rogue.CertFile, rogue.KeyFile),
		"server of another CA":      pgcluster.NetworkURL("127.0.0.1", port, "cccd", rogueCA.CAFile(), rogue.CertFile, rogue.KeyFile),
	}
	for name, u := range refused {
		t.Run(name, func(t *testing.T) {
			p, err := store.Connect(ctx, u, 1)
			if err == nil {
				p.Close()
				t.Fatal("connected")
			}
			t.Logf("refused: %v", err)
		})
	}
}
