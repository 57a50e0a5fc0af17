package cms_test

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cccd-project/cccd/hsm/pki/cms"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenSigner loads the fixed test-only RSA key: RSA PKCS#1 v1.5 signatures are
// deterministic, so the whole SignedData is reproducible byte for byte.
func goldenSigner(t testing.TB) (crypto.Signer, *x509.Certificate) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "test-only-rsa2048.key"))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := pem.Decode(b)
	k, err := x509.ParsePKCS8PrivateKey(p.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key := k.(crypto.Signer)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(0x0D5),
		Subject:      pkix.Name{Country: []string{"VN"}, CommonName: "Golden Document Signer"},
		NotBefore:    at,
		NotAfter:     at.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		SubjectKeyId: []byte{1, 2, 3, 4},
	}
	der, err := x509.CreateCertificate(nil, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return key, c
}

// TestGolden pins the exact encoding of an EF.SOD-style SignedData (ICAO 9303-10 §4.6.2):
// run `go test -run TestGolden -update` after an intended change and inspect the diff with
// `openssl asn1parse -inform DER -in testdata/sod-rsa-sha256.der`.
func TestGolden(t *testing.T) {
	key, cert := goldenSigner(t)
	content := []byte{0x30, 0x03, 0x02, 0x01, 0x00} // stand-in LDSSecurityObject
	got, err := cms.Sign(oidLDSSecurityObject, content, cert, key,
		&cms.SignOptions{SigningTime: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "sod-rsa-sha256.der")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("SignedData differs from %s (run with -update after an intended change)", path)
	}
	sd, err := cms.Parse(want)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sd.Verify(); err != nil {
		t.Fatal(err)
	}
}
