package cms_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cccd-project/cccd/hsm/pki/cms"
)

// oidLDSSecurityObject is ICAO 9303-10 §4.6.2.2's eContentType for EF.SOD.
var oidLDSSecurityObject = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 1}

func selfSigned(t testing.TB, key crypto.Signer) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(0x1234567),
		Subject:               pkix.Name{Country: []string{"VN"}, CommonName: "Test Signer"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type signerCase struct {
	name string
	key  crypto.Signer
	opts *cms.SignOptions
}

func signerCases(t testing.TB) []signerCase {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	r, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return []signerCase{
		{"ecdsa-p256-sha256", p256, nil},
		{"ecdsa-p384-sha384", p384, &cms.SignOptions{Hash: crypto.SHA384}},
		{"rsa-pkcs1-sha256", r, nil},
		{"rsa-pss-sha256", r, &cms.SignOptions{PSS: true}},
		{"rsa-pss-sha512", r, &cms.SignOptions{PSS: true, Hash: crypto.SHA512}},
	}
}

func TestSignVerify(t *testing.T) {
	content := []byte("LDSSecurityObject stand-in")
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for _, tc := range signerCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			cert := selfSigned(t, tc.key)
			opts := &cms.SignOptions{SigningTime: at}
			if tc.opts != nil {
				o := *tc.opts
				o.SigningTime = at
				opts = &o
			}
			der, err := cms.Sign(oidLDSSecurityObject, content, cert, tc.key, opts)
			if err != nil {
				t.Fatal(err)
			}
			sd, err := cms.Parse(der)
			if err != nil {
				t.Fatal(err)
			}
			if sd.Version != 3 {
				t.Errorf("version = %d, want 3", sd.Version)
			}
			if !sd.ContentType.Equal(oidLDSSecurityObject) || !bytes.Equal(sd.Content, content) {
				t.Errorf("content = %v %q", sd.ContentType, sd.Content)
			}
			if len(sd.Certificates) != 1 || !sd.Certificates[0].Equal(cert) {
				t.Errorf("certificates = %d, want the signer's", len(sd.Certificates))
			}
			if len(sd.Signers) != 1 {
				t.Fatalf("signers = %d", len(sd.Signers))
			}
			si := sd.Signers[0]
			if si.Version != 1 || si.SerialNumber.Cmp(cert.SerialNumber) != 0 || !bytes.Equal(si.IssuerRaw, cert.RawIssuer) {
				t.Errorf("sid = v%d %v", si.Version, si.SerialNumber)
			}
			if !si.SigningTime.Equal(at) {
				t.Errorf("signingTime = %v, want %v", si.SigningTime, at)
			}
			got, err := sd.Verify()
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(cert) {
				t.Error("Verify returned another certificate")
			}
			opensslVerify(t, der, cert, content)
		})
	}
}

// opensslVerify checks the SignedData independently with `openssl cms -verify`.
func opensslVerify(t *testing.T, der []byte, cert *x509.Certificate, content []byte) {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("openssl is required: %v", err)
	}
	dir := t.TempDir()
	in, ca, out := filepath.Join(dir, "sd.der"), filepath.Join(dir, "ca.pem"), filepath.Join(dir, "out")
	os.WriteFile(in, der, 0o600)
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600)
	cmd := exec.Command(bin, "cms", "-verify", "-inform", "DER", "-in", in, "-CAfile", ca, "-purpose", "any", "-out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl cms -verify: %v\n%s", err, b)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, content) {
		t.Errorf("openssl extracted %q", got)
	}
}

func TestVerifyRejects(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cert := selfSigned(t, key)
	der, err := cms.Sign(oidLDSSecurityObject, []byte("content"), cert, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tests := []struct {
		name   string
		mutate func(sd *cms.SignedData)
		want   error
	}{
		{"content changed", func(sd *cms.SignedData) { sd.Content = []byte("contenT") }, cms.ErrDigest},
		{"signature changed", func(sd *cms.SignedData) { sd.Signers[0].Signature[10] ^= 1 }, cms.ErrSignature},
		{"attributes changed", func(sd *cms.SignedData) {
			a := sd.Signers[0].SignedAttrs
			a[len(a)-2] ^= 1 // inside signingTime
		}, cms.ErrSignature},
		{"other certificate", func(sd *cms.SignedData) { sd.Certificates = []*x509.Certificate{selfSigned(t, other)} }, cms.ErrSignature},
		{"no certificate", func(sd *cms.SignedData) { sd.Certificates = nil }, cms.ErrNoSigner},
		{"two signers", func(sd *cms.SignedData) { sd.Signers = append(sd.Signers, sd.Signers[0]) }, cms.ErrMalformed},
		{"content type", func(sd *cms.SignedData) { sd.ContentType = cms.OIDData }, cms.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sd, err := cms.Parse(bytes.Clone(der))
			if err != nil {
				t.Fatal(err)
			}
			tt.mutate(sd)
			if _, err := sd.Verify(); !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSignKeyMismatch(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := cms.Sign(cms.OIDData, []byte("x"), selfSigned(t, key), other, nil); err == nil {
		t.Fatal("Sign with a key that does not match the certificate succeeded")
	}
}

// lyingSigner returns a valid-looking but wrong signature; Sign must catch it.
type lyingSigner struct{ crypto.Signer }

func (l lyingSigner) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	return l.Signer.Sign(r, append([]byte{1}, d[1:]...), o)
}

func TestSignVerifiesSignerOutput(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cert := selfSigned(t, key)
	if _, err := cms.Sign(cms.OIDData, []byte("x"), cert, lyingSigner{key}, nil); !errors.Is(err, cms.ErrSignature) {
		t.Fatalf("Sign with a faulty signer = %v, want ErrSignature", err)
	}
}

func TestParseRejects(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := cms.Sign(cms.OIDData, []byte("x"), selfSigned(t, key), key, nil)
	tests := map[string][]byte{
		"empty":          nil,
		"truncated":      der[:len(der)-1],
		"trailing":       append(bytes.Clone(der), 0),
		"not signedData": {0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01},
		"indefinite":     {0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02, 0x00, 0x00},
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := cms.Parse(in); !errors.Is(err, cms.ErrMalformed) {
				t.Errorf("Parse = %v, want ErrMalformed", err)
			}
		})
	}
}
