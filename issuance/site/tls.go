// Package site holds what a production site spread over several machines needs beyond
// the workflow itself: TLS identities (a site CA issuing the certificates of `cccd
// serve`, the NATS servers and every client role, or a self-signed development
// certificate), the per-role permissions of the NATS accounts (a station takes only its
// own line's jobs; a counter reads no production subject), and the configuration of a
// NATS JetStream cluster.
//
// Secrets (private keys) are read from files only and written with mode 0600; nothing
// here logs or prints them.
package site

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Fingerprint is the SHA-256 fingerprint of a DER certificate, as openssl prints it
// (`openssl x509 -noout -fingerprint -sha256`): upper-case hex pairs joined by colons.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// DevCertificate returns the files of a self-signed development certificate for hosts
// (DNS names or IP addresses) under dir, making it on first use, and its fingerprint.
// A certificate already there is reused so that clients that pinned it keep working;
// one that has expired or does not cover every host is made again.
func DevCertificate(dir string, hosts []string) (certFile, keyFile, fingerprint string, err error) {
	certFile, keyFile = filepath.Join(dir, "serve.crt"), filepath.Join(dir, "serve.key")
	if c, err := readCertificate(certFile); err == nil && covers(c, hosts) && time.Now().Before(c.NotAfter) {
		return certFile, keyFile, Fingerprint(c.Raw), nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", "", fmt.Errorf("site: %w", err)
	}
	tmpl, err := template("cccd serve (development)", hosts, 90*24*time.Hour)
	if err != nil {
		return "", "", "", err
	}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return "", "", "", fmt.Errorf("site: development certificate: %w", err)
	}
	if err := writePair(certFile, keyFile, der, key); err != nil {
		return "", "", "", err
	}
	return certFile, keyFile, Fingerprint(der), nil
}

// covers reports whether c names every host.
func covers(c *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		if c.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// template is a leaf or CA certificate template for cn valid for d, naming hosts.
func template(cn string, hosts []string, d time.Duration) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("site: serial: %w", err)
	}
	now := time.Now()
	t := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-5 * time.Minute),
		NotAfter:     now.Add(d),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			t.IPAddresses = append(t.IPAddresses, ip)
		} else if h != "" {
			t.DNSNames = append(t.DNSNames, h)
		}
	}
	return t, nil
}

// writePair writes a certificate (0644) and its private key (PKCS#8, 0600).
func writePair(certFile, keyFile string, der []byte, key *ecdsa.PrivateKey) error {
	if err := os.MkdirAll(filepath.Dir(certFile), 0o700); err != nil {
		return fmt.Errorf("site: %w", err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("site: %w", err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		return fmt.Errorf("site: %w", err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("site: %w", err)
	}
	return nil
}

// readCertificate reads the first PEM certificate of a file.
func readCertificate(file string) (*x509.Certificate, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("site: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("site: %s: no PEM certificate", file)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("site: %s: %w", file, err)
	}
	return c, nil
}

// CertPool reads the PEM certificates of a file into a pool (a CA bundle).
func CertPool(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("site: CA file: %w", err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("site: CA file %s: no PEM certificate", file)
	}
	return p, nil
}

// ServerTLS is the TLS configuration of a server with the certificate and key files;
// with clientCA set, clients must present a certificate issued by it (mutual TLS).
func ServerTLS(certFile, keyFile, clientCA string) (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("site: certificate %s and key %s: %w", certFile, keyFile, err)
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}
	if clientCA != "" {
		if c.ClientCAs, err = CertPool(clientCA); err != nil {
			return nil, err
		}
		c.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return c, nil
}

// ClientTLS is the TLS configuration of a client that trusts the CA file (a site CA or
// a development certificate itself) and, with certFile and keyFile set, presents that
// certificate.
func ClientTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	if caFile == "" {
		return nil, errors.New("site: client TLS needs a CA file (the site CA or the server's certificate)")
	}
	pool, err := CertPool(caFile)
	if err != nil {
		return nil, err
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	if certFile != "" || keyFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("site: client certificate %s and key %s: %w", certFile, keyFile, err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}
