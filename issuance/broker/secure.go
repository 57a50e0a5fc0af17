package broker

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/cccd-project/cccd/issuance/site"
)

// secure makes the embedded server's listener TLS only with client certificates of the
// site CA, each mapped by its subject to the user of its role (verify_and_map).
func secure(opts *server.Options, c Config) error {
	if !c.Listen {
		return errors.New("broker: a server certificate is for an embedded server that listens")
	}
	if c.CAFile == "" {
		return errors.New("broker: an embedded server with a certificate needs the site CA (CCCD_NATS_CA) for its clients")
	}
	tc, err := site.ServerTLS(c.ServerCertFile, c.ServerKeyFile, c.CAFile)
	if err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	opts.TLSConfig, opts.TLS, opts.TLSVerify, opts.TLSMap, opts.TLSTimeout = tc, true, true, true, 5
	for _, role := range site.Roles(c.Lines) {
		p, err := site.RolePermissions(role)
		if err != nil {
			return fmt.Errorf("broker: %w", err)
		}
		opts.Users = append(opts.Users, &server.User{Username: "CN=" + role, Permissions: &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: p.Publish},
			Subscribe: &server.SubjectPermission{Allow: p.Subscribe},
		}})
	}
	return nil
}

// certRole is the common name of a client certificate: its role on the broker.
func certRole(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return "", errors.New("broker: no PEM certificate")
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return "", err
	}
	if cert.Subject.CommonName == "" {
		return "", errors.New("broker: certificate without a common name")
	}
	return cert.Subject.CommonName, nil
}
