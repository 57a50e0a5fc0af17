package masterlist_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/cccd-project/cccd/hsm/pki/cms"
	"github.com/cccd-project/cccd/hsm/pki/masterlist"
)

func cert(t testing.TB, key crypto.Signer, cn string, eku bool) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{Country: []string{"VN"}, CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	if eku {
		tmpl.UnknownExtKeyUsage = []asn1.ObjectIdentifier{masterlist.OIDMasterListSigning}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func signed(t testing.TB, n int) ([]byte, []*x509.Certificate) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	mls := cert(t, key, "MLS", true)
	var certs []*x509.Certificate
	for i := 0; i < n; i++ {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		certs = append(certs, cert(t, k, "CSCA", false))
	}
	der, err := masterlist.Sign(certs, mls, key, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return der, certs
}

func TestRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 5} {
		t.Run(string(rune('0'+n)), func(t *testing.T) {
			der, certs := signed(t, n)
			ml, err := masterlist.Parse(der)
			if err != nil {
				t.Fatal(err)
			}
			if ml.Version != 0 || len(ml.Certificates) != n {
				t.Fatalf("version %d, %d certificates, want 0, %d", ml.Version, len(ml.Certificates), n)
			}
			for _, c := range certs {
				found := false
				for _, g := range ml.Certificates {
					found = found || g.Equal(c)
				}
				if !found {
					t.Errorf("certificate %x missing", c.SerialNumber)
				}
			}
			if _, err := ml.Verify(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestEncodeSortsAndDeduplicates(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	a := cert(t, k, "A", false)
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b := cert(t, k2, "B", false)
	x, _ := masterlist.Encode([]*x509.Certificate{a, b, a})
	y, _ := masterlist.Encode([]*x509.Certificate{b, a})
	if string(x) != string(y) {
		t.Error("encoding depends on input order or duplicates")
	}
	_, certs, err := masterlist.ParseContent(x)
	if err != nil || len(certs) != 2 {
		t.Errorf("ParseContent: %d, %v", len(certs), err)
	}
}

func TestRejects(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	noEKU := cert(t, key, "not an MLS", false)
	content, _ := masterlist.Encode(nil)
	wrongSigner, err := cms.Sign(masterlist.OIDCSCAMasterList, content, noEKU, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	wrongType, _ := cms.Sign(cms.OIDData, content, cert(t, key, "MLS", true), key, nil)
	v1, _ := asn1.Marshal(struct {
		V int
		L []asn1.RawValue `asn1:"set"`
	}{V: 1})
	badVersion, _ := cms.Sign(masterlist.OIDCSCAMasterList, v1, cert(t, key, "MLS", true), key, nil)
	tests := []struct {
		name      string
		der       []byte
		parseErr  error
		verifyErr error
	}{
		{"signer without EKU", wrongSigner, nil, masterlist.ErrSignerProfile},
		{"eContentType id-data", wrongType, masterlist.ErrMalformed, nil},
		{"version 1", badVersion, masterlist.ErrMalformed, nil},
		{"garbage", []byte{0x30, 0x03, 0x02, 0x01, 0x00}, cms.ErrMalformed, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ml, err := masterlist.Parse(tt.der)
			if tt.parseErr != nil {
				if !errors.Is(err, tt.parseErr) {
					t.Errorf("Parse = %v, want %v", err, tt.parseErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ml.Verify(); !errors.Is(err, tt.verifyErr) {
				t.Errorf("Verify = %v, want %v", err, tt.verifyErr)
			}
		})
	}
}

// FuzzParse feeds arbitrary bytes to Parse, Verify and ParseContent; seeds are signed master
// lists with 0, 1 and 3 certificates and bare CscaMasterList contents.
func FuzzParse(f *testing.F) {
	for _, n := range []int{0, 1, 3} {
		der, certs := signed(f, n)
		f.Add(der)
		c, _ := masterlist.Encode(certs)
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if _, certs, err := masterlist.ParseContent(in); err == nil && len(certs) > masterlist.MaxCertificates {
			t.Fatal("limit exceeded")
		}
		ml, err := masterlist.Parse(in)
		if err != nil {
			return
		}
		if ml.Version != 0 {
			t.Fatalf("accepted version %d", ml.Version)
		}
		_, _ = ml.Verify()
	})
}
