package site

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// CA is a site's own certificate authority: it issues the TLS certificates of the
// servers (`cccd serve`, NATS nodes) and of every client role. Its key stays in the
// directory it was made in (0600), which belongs on the machine that enrols hosts.
type CA struct {
	Dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// CAFile is the CA certificate every host of the site trusts.
func (ca *CA) CAFile() string { return filepath.Join(ca.Dir, "ca.crt") }

// OpenCA loads the site CA under dir, making it on first use.
func OpenCA(dir string) (*CA, error) {
	ca := &CA{Dir: dir}
	keyFile := filepath.Join(dir, "ca.key")
	if c, err := readCertificate(ca.CAFile()); err == nil {
		k, err := readKey(keyFile)
		if err != nil {
			return nil, err
		}
		ca.cert, ca.key = c, k
		return ca, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("site: %w", err)
	}
	tmpl, err := template("cccd site CA", nil, 5*365*24*time.Hour)
	if err != nil {
		return nil, err
	}
	tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.MaxPathLenZero = true, true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("site: CA: %w", err)
	}
	if err := writePair(ca.CAFile(), keyFile, der, key); err != nil {
		return nil, err
	}
	if ca.cert, err = x509.ParseCertificate(der); err != nil {
		return nil, fmt.Errorf("site: CA: %w", err)
	}
	ca.key = key
	return ca, nil
}

func readKey(file string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("site: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("site: %s: no PEM key", file)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("site: %s: %w", file, err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("site: %s: not an ECDSA key", file)
	}
	return ek, nil
}

// Identity is a certificate and key pair issued by the CA.
type Identity struct {
	Name     string // the certificate's common name: the role (see Role) or host
	CertFile string
	KeyFile  string
}

// Issue makes (or remakes) the certificate of name under <Dir>/<name>.{crt,key}. A
// server certificate (hosts set) is good for server and client authentication (NATS
// nodes are clients of each other's routes); a client certificate (no hosts) for
// client authentication only. The common name is what the NATS server maps to an
// account user with its permissions.
func (ca *CA) Issue(name string, hosts []string) (Identity, error) {
	if name == "" || filepath.Base(name) != name {
		return Identity{}, fmt.Errorf("site: certificate name %q: want a plain name", name)
	}
	id := Identity{Name: name, CertFile: filepath.Join(ca.Dir, name+".crt"), KeyFile: filepath.Join(ca.Dir, name+".key")}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Identity{}, fmt.Errorf("site: %w", err)
	}
	tmpl, err := template(name, hosts, 365*24*time.Hour)
	if err != nil {
		return Identity{}, err
	}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if len(hosts) > 0 {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return Identity{}, fmt.Errorf("site: issue %s: %w", name, err)
	}
	return id, writePair(id.CertFile, id.KeyFile, der, key)
}
