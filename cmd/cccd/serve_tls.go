package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/cccd-project/cccd/issuance/site"
)

// serveTLSConfig is the TLS part of `cccd serve`'s configuration: the API and the
// console are served over HTTPS only.
type serveTLSConfig struct {
	CertFile string // PEM certificate (chain); default $CCCD_TLS_CERT
	KeyFile  string // PEM private key; default $CCCD_TLS_KEY
	ClientCA string // when set, clients must present a certificate issued by it; default $CCCD_TLS_CLIENT_CA
}

func (c *serveTLSConfig) flags(f *pflag.FlagSet) {
	f.StringVar(&c.CertFile, "tls-cert", os.Getenv("CCCD_TLS_CERT"), "TLS certificate file, PEM (env CCCD_TLS_CERT; unset: a self-signed development certificate under <data-dir>/tls)")
	f.StringVar(&c.KeyFile, "tls-key", os.Getenv("CCCD_TLS_KEY"), "TLS private key file, PEM (env CCCD_TLS_KEY)")
	f.StringVar(&c.ClientCA, "tls-client-ca", os.Getenv("CCCD_TLS_CLIENT_CA"), "require client certificates issued by this CA, PEM (env CCCD_TLS_CLIENT_CA)")
}

// Validate checks that the certificate and the key come together.
func (c *serveTLSConfig) Validate() error {
	if (c.CertFile == "") != (c.KeyFile == "") {
		return errors.New("serve: --tls-cert and --tls-key go together (or neither, for a development certificate)")
	}
	return nil
}

// config loads the certificate, or makes the development one for the listen address
// and prints where it is and its fingerprint, which clients pin or compare.
func (c *serveTLSConfig) config(listen string) (*tls.Config, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	cert, key := c.CertFile, c.KeyFile
	if cert == "" {
		hosts := []string{"localhost", "127.0.0.1", "::1"}
		if h, _, err := net.SplitHostPort(listen); err == nil && h != "" && !net.ParseIP(h).IsUnspecified() {
			hosts = append(hosts, h)
		}
		var fp string
		var err error
		if cert, key, fp, err = site.DevCertificate(filepath.Join(global.dataDir, "tls"), hosts); err != nil {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "serve: self-signed development certificate %s\nserve: SHA-256 fingerprint %s\n", cert, fp)
	}
	return site.ServerTLS(cert, key, c.ClientCA)
}
