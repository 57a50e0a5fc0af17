package ecparamstest

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ExplicitRefusal is OpenSSL 3's message when a certificate below the trust anchor has an
// EC key with explicit parameters (X509_V_ERR_EC_KEY_EXPLICIT_PARAMS): a policy of its chain
// building, not a judgment on the signatures.
const ExplicitRefusal = "explicit ECC parameters"

// OpenSSL runs openssl in dir; ok is its exit status, out what it printed. A missing
// openssl fails the test (Debian package openssl).
func OpenSSL(t testing.TB, dir string, args ...string) (ok bool, out string) {
	t.Helper()
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	b, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("openssl (Debian package openssl is required): %v", err)
	}
	return err == nil, string(b)
}

// PEM returns the certificates PEM-encoded.
func PEM(certs ...*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

// WritePEM writes the certificates PEM-encoded to path.
func WritePEM(t testing.TB, path string, certs ...*x509.Certificate) {
	t.Helper()
	if err := os.WriteFile(path, PEM(certs...), 0o644); err != nil {
		t.Fatal(err)
	}
}

// OpenSSLSignedBy is OpenSSL's verdict on whether issuer's key made the signature of the
// DER certificate der: `openssl dgst -<hash> -verify` of its TBSCertificate. It is how the
// tests ask OpenSSL about a certificate its chain building refuses (ExplicitRefusal).
func OpenSSLSignedBy(t testing.TB, dir string, der []byte, issuer *x509.Certificate, hash string) bool {
	t.Helper()
	in := cryptobyte.String(der)
	var cert, tbs, sig cryptobyte.String
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) || !cert.ReadASN1Element(&tbs, cbasn1.SEQUENCE) ||
		!cert.SkipASN1(cbasn1.SEQUENCE) || !cert.ReadASN1(&sig, cbasn1.BIT_STRING) || len(sig) < 1 {
		t.Fatal("ecparamstest: certificate structure")
	}
	files := map[string][]byte{"tbs.der": tbs, "sig.der": sig[1:], "issuer.pem": PEM(issuer)} // sig: skip the unused-bits byte
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if ok, out := OpenSSL(t, dir, "x509", "-in", "issuer.pem", "-pubkey", "-noout", "-out", "issuerpub.pem"); !ok {
		t.Fatalf("openssl x509 -pubkey: %s", out)
	}
	ok, _ := OpenSSL(t, dir, "dgst", "-"+hash, "-verify", "issuerpub.pem", "-signature", "sig.der", "tbs.der")
	return ok
}
