package site_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/cccd-project/cccd/issuance/site"
)

// serveHTTPS serves "ok" over TLS with cfg on a loopback listener and returns its URL.
func serveHTTPS(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }),
		ReadHeaderTimeout: 5 * time.Second, ErrorLog: nil}
	go srv.Serve(tls.NewListener(ln, cfg))
	t.Cleanup(func() { srv.Close() })
	return "https://" + ln.Addr().String() + "/"
}

func get(url string, cfg *tls.Config) (string, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestDevCertificate: serve's development certificate is made once and reused, its
// fingerprint is the one openssl computes, a client that trusts it gets through and a
// client that does not is refused.
func TestDevCertificate(t *testing.T) {
	dir := t.TempDir()
	hosts := []string{"localhost", "127.0.0.1"}
	cert, key, fp, err := site.DevCertificate(dir, hosts)
	if err != nil {
		t.Fatal(err)
	}
	_, _, again, err := site.DevCertificate(dir, hosts)
	if err != nil || again != fp {
		t.Fatalf("second call made a new certificate: %s vs %s (%v)", again, fp, err)
	}
	out, err := exec.Command("openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", cert).Output()
	if err != nil {
		t.Fatalf("openssl (Debian package openssl): %v", err)
	}
	if got := strings.TrimSpace(string(out)); !strings.HasSuffix(got, "="+fp) {
		t.Fatalf("openssl says %q, cccd printed %s", got, fp)
	}
	_, _, other, err := site.DevCertificate(dir, append(hosts, "10.77.0.4"))
	if err != nil || other == fp {
		t.Fatalf("a new host did not give a new certificate: %v", err)
	}
	cert, key, _, _ = site.DevCertificate(dir, hosts)
	scfg, err := site.ServerTLS(cert, key, "")
	if err != nil {
		t.Fatal(err)
	}
	url := serveHTTPS(t, scfg)
	ccfg, err := site.ClientTLS(cert, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if body, err := get(url, ccfg); err != nil || body != "ok" {
		t.Fatalf("client trusting the certificate: %q, %v", body, err)
	}
	_, err = get(url, &tls.Config{})
	var unknown x509.UnknownAuthorityError
	if err == nil || !errors.As(err, &unknown) {
		t.Fatalf("client with the system roots was not refused for an unknown authority: %v", err)
	}
	if body, err := get(strings.Replace(url, "https", "http", 1), nil); err == nil && body == "ok" {
		t.Fatal("plain HTTP was served by the TLS listener")
	}
}

// TestMutualTLS: a server that requires client certificates of the site CA refuses a
// client without one and a client whose certificate another CA issued.
func TestMutualTLS(t *testing.T) {
	ca, err := site.OpenCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Issue("serve", []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	scfg, err := site.ServerTLS(srv.CertFile, srv.KeyFile, ca.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	url := serveHTTPS(t, scfg)
	client, err := ca.Issue("office", nil)
	if err != nil {
		t.Fatal(err)
	}
	rogueCA, err := site.OpenCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rogue, err := rogueCA.Issue("office", nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		cert, key  string
		wantServed bool
	}{
		{"certificate of the site CA", client.CertFile, client.KeyFile, true},
		{"no certificate", "", "", false},
		{"certificate of another CA", rogue.CertFile, rogue.KeyFile, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ccfg, err := site.ClientTLS(ca.CAFile(), c.cert, c.key)
			if err != nil {
				t.Fatal(err)
			}
			body, err := get(url, ccfg)
			if served := err == nil && body == "ok"; served != c.wantServed {
				t.Fatalf("served = %v (%q, %v), want %v", served, body, err, c.wantServed)
			}
		})
	}
	reopened, err := site.OpenCA(ca.Dir)
	if err != nil || reopened.CAFile() != ca.CAFile() {
		t.Fatalf("reopening the CA: %v", err)
	}
	if _, err := ca.Issue("../escape", nil); err == nil {
		t.Fatal("a certificate name with a path was accepted")
	}
}
