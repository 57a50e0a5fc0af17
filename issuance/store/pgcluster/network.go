package pgcluster

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
)

// Network makes a cluster a database server for other hosts: it listens on TCP and
// accepts only TLS connections whose client certificate the CA issued to the database
// user (PostgreSQL "cert" authentication). Local Unix-socket connections stay as they
// are, for administration on the host itself.
type Network struct {
	Listen   string // listen_addresses, e.g. "10.77.0.3"
	Port     int
	CertFile string // server certificate (PEM); its hosts must include Listen
	KeyFile  string // its private key (PEM); copied into the cluster, mode 0600
	CAFile   string // CA of the client certificates
}

// hba is pg_hba.conf for a networked cluster: TLS with a client certificate or nothing.
const hba = `# written by cccd (pgcluster.Network): TLS with a client certificate, or no connection
local   all all                trust
hostssl all all 0.0.0.0/0      cert
hostssl all all ::/0           cert
`

// networkOptions copies the TLS files into the cluster, writes pg_hba.conf and returns
// the server options that make it listen on TCP with TLS.
func (c *Cluster) networkOptions() (string, error) {
	n := c.Network
	dir := filepath.Join(c.Dir, "tls")
	if err := c.mkdir(dir); err != nil {
		return "", err
	}
	files := map[string]string{"server.crt": n.CertFile, "server.key": n.KeyFile, "ca.crt": n.CAFile}
	for name, src := range files {
		b, err := os.ReadFile(src)
		if err != nil {
			return "", fmt.Errorf("pgcluster: network TLS: %w", err)
		}
		if err := c.writeOwned(filepath.Join(dir, name), b); err != nil {
			return "", err
		}
	}
	if err := c.writeOwned(filepath.Join(c.dataDir(), "pg_hba.conf"), []byte(hba)); err != nil {
		return "", err
	}
	return fmt.Sprintf(" -c listen_addresses='%s' -p %d -c ssl=on -c ssl_cert_file=%s -c ssl_key_file=%s -c ssl_ca_file=%s",
		n.Listen, n.Port, filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"), filepath.Join(dir, "ca.crt")), nil
}

// port is the server's port (also the name of its Unix socket).
func (c *Cluster) port() int {
	if c.Network != nil && c.Network.Port != 0 {
		return c.Network.Port
	}
	return 5432
}

// writeOwned writes a 0600 file owned by the server's user.
func (c *Cluster) writeOwned(p string, b []byte) error {
	if err := os.WriteFile(p, b, 0o600); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	if c.cred != nil {
		if err := os.Chown(p, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
	}
	return nil
}

// NetworkURL is the URL a client on another host uses: TLS verifying the server's
// certificate against caFile and its host name, presenting the client certificate
// (issued to user "postgres").
func NetworkURL(host string, port int, database, caFile, certFile, keyFile string) string {
	q := url.Values{"sslmode": {"verify-full"}, "sslrootcert": {caFile}, "sslcert": {certFile}, "sslkey": {keyFile}}
	return (&url.URL{Scheme: "postgres", User: url.User("postgres"), Host: net.JoinHostPort(host, strconv.Itoa(port)),
		Path: "/" + database, RawQuery: q.Encode()}).String()
}
