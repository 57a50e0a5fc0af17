// Package broker connects cccd to NATS JetStream: to an external server or cluster
// named by CCCD_NATS_URL (how a production site scales out), or, by default, to a
// nats-server embedded in the process with JetStream stored under the data directory.
//
// The embedded server listens on a loopback port chosen by the system and writes its
// URL to <store>/nats.url, so that stations started on the same machine find it.
package broker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cccd-project/cccd/issuance/site"
)

// Config selects the broker. The zero value embeds a server with a temporary store.
type Config struct {
	URL      string // external NATS URL(s), comma separated; default $CCCD_NATS_URL
	StoreDir string // JetStream store of the embedded server
	Listen   bool   // embedded server also listens on 127.0.0.1 (random port) for other processes
	Name     string // client connection name

	// TLS. With CAFile set, the client speaks TLS only, verifies the server against the
	// site CA and presents CertFile/KeyFile, whose common name is its role (package
	// site); it uses the role's own reply-subject prefix. Defaults: $CCCD_NATS_CA,
	// $CCCD_NATS_CERT, $CCCD_NATS_KEY.
	CAFile, CertFile, KeyFile string
	// ServerCertFile and ServerKeyFile make an embedded server that listens speak TLS
	// only, require client certificates of CAFile and map them to the site's roles
	// with their permissions (one station user per line of Lines). Defaults:
	// $CCCD_NATS_SERVER_CERT, $CCCD_NATS_SERVER_KEY, $CCCD_SITE_LINES (comma separated).
	ServerCertFile, ServerKeyFile string
	Lines                         []string
}

// FromEnv fills the empty fields from the environment (CCCD_NATS_*).
func (c Config) FromEnv() Config {
	env := func(v *string, name string) {
		if *v == "" {
			*v = os.Getenv(name)
		}
	}
	env(&c.URL, "CCCD_NATS_URL")
	env(&c.CAFile, "CCCD_NATS_CA")
	env(&c.CertFile, "CCCD_NATS_CERT")
	env(&c.KeyFile, "CCCD_NATS_KEY")
	env(&c.ServerCertFile, "CCCD_NATS_SERVER_CERT")
	env(&c.ServerKeyFile, "CCCD_NATS_SERVER_KEY")
	if len(c.Lines) == 0 && os.Getenv("CCCD_SITE_LINES") != "" {
		c.Lines = strings.Split(os.Getenv("CCCD_SITE_LINES"), ",")
	}
	return c
}

// Broker is a connection to JetStream, and the embedded server when there is one.
type Broker struct {
	Conn   *nats.Conn
	JS     jetstream.JetStream
	server *server.Server
}

// Embedded reports whether the broker runs inside this process.
func (b *Broker) Embedded() bool { return b.server != nil }

// ClientURL is the URL other processes use to reach this broker.
func (b *Broker) ClientURL() string {
	if b.server != nil {
		return b.server.ClientURL()
	}
	return b.Conn.ConnectedUrl()
}

// URLFile is where an embedded server that listens writes its URL.
func URLFile(storeDir string) string { return filepath.Join(storeDir, "nats.url") }

// Connect starts or reaches the broker.
func Connect(ctx context.Context, c Config) (*Broker, error) {
	c = c.FromEnv()
	opts := []nats.Option{
		nats.Name(c.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(true),
	}
	if c.CAFile != "" {
		tc, err := site.ClientTLS(c.CAFile, c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("broker: %w", err)
		}
		opts = append(opts, nats.Secure(tc))
		if role, err := certRole(c.CertFile); err == nil {
			opts = append(opts, nats.CustomInboxPrefix(site.InboxPrefix(role)))
		}
	}
	b := &Broker{}
	url := c.URL
	if url == "" {
		ns, err := startEmbedded(c)
		if err != nil {
			return nil, err
		}
		b.server = ns
		if c.ServerCertFile != "" {
			url = ns.ClientURL() // TLS and a certificate, like every other client
		} else {
			opts = append(opts, nats.InProcessServer(ns))
		}
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("broker: connect %s: %w", url, err)
	}
	b.Conn = nc
	js, err := jetstream.New(nc)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("broker: jetstream: %w", err)
	}
	b.JS = js
	// Wait until JetStream answers (an external server may still be starting).
	for {
		_, err := js.AccountInfo(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			b.Close()
			return nil, fmt.Errorf("broker: jetstream not available at %s: %w", b.ClientURL(), err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	return b, nil
}

func startEmbedded(c Config) (*server.Server, error) {
	dir := c.StoreDir
	if dir == "" {
		return nil, errors.New("broker: no CCCD_NATS_URL and no store directory for the embedded server")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	opts := &server.Options{
		ServerName: "cccd-embedded",
		JetStream:  true,
		StoreDir:   dir,
		DontListen: !c.Listen,
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		NoSigs:     true,
		NoLog:      true,
	}
	if c.ServerCertFile != "" {
		if err := secure(opts, c); err != nil {
			return nil, err
		}
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("broker: embedded server: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("broker: embedded server did not start within 30s")
	}
	if c.Listen {
		if err := os.WriteFile(URLFile(dir), []byte(ns.ClientURL()+"\n"), 0o600); err != nil {
			ns.Shutdown()
			return nil, fmt.Errorf("broker: %w", err)
		}
	}
	return ns, nil
}

// DiscoverURL returns CCCD_NATS_URL, or the URL a local embedded server wrote under
// storeDir, so that a station finds `cccd serve` on the same machine.
func DiscoverURL(storeDir string) (string, error) {
	if u := os.Getenv("CCCD_NATS_URL"); u != "" {
		return u, nil
	}
	b, err := os.ReadFile(URLFile(storeDir))
	if err != nil {
		return "", fmt.Errorf("broker: no CCCD_NATS_URL and no running `cccd serve` found (%s): %w", URLFile(storeDir), err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Close drains the connection and stops the embedded server.
func (b *Broker) Close() {
	if b.Conn != nil {
		b.Conn.Drain()
		for i := 0; i < 50 && !b.Conn.IsClosed(); i++ {
			time.Sleep(20 * time.Millisecond)
		}
		b.Conn.Close()
	}
	if b.server != nil {
		b.server.Shutdown()
		b.server.WaitForShutdown()
	}
}
