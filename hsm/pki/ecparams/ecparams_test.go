package ecparams_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/cccd-project/cccd/hsm/pki/ecparams"
	"github.com/cccd-project/cccd/hsm/pki/ecparams/ecparamstest"
)

// opensslNames are OpenSSL's names of the known curves.
var opensslNames = map[string]string{
	"brainpoolP256r1": "brainpoolP256r1", "brainpoolP384r1": "brainpoolP384r1", "brainpoolP512r1": "brainpoolP512r1",
	"P-256": "prime256v1", "P-384": "secp384r1", "P-521": "secp521r1",
}

func opensslParams(t *testing.T, name string, explicit bool) []byte {
	t.Helper()
	enc := "named_curve"
	if explicit {
		enc = "explicit"
	}
	out, err := exec.Command("openssl", "ecparam", "-name", name, "-param_enc", enc, "-outform", "DER").Output()
	if err != nil {
		t.Fatalf("openssl ecparam %s (Debian package openssl is required): %v", name, err)
	}
	return out
}

// TestParametersAgainstOpenSSL: OpenSSL's encodings of every known curve, named and
// explicit (with the seed for the NIST curves), are recognized; our own explicit encoding
// is what OpenSSL reads as the same curve.
func TestParametersAgainstOpenSSL(t *testing.T) {
	for _, c := range ecparams.Curves() {
		t.Run(c.Name, func(t *testing.T) {
			for _, explicit := range []bool{false, true} {
				p, err := ecparams.ParseParameters(opensslParams(t, opensslNames[c.Name], explicit))
				if err != nil || p.Curve != c || p.Explicit != explicit {
					t.Fatalf("explicit=%v: %+v %v", explicit, p, err)
				}
			}
			cmd := exec.Command("openssl", "ecparam", "-inform", "DER", "-check", "-noout")
			cmd.Stdin = bytes.NewReader(c.Explicit())
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("openssl refuses our explicit %s: %v %s", c.Name, err, out)
			}
		})
	}
}

// TestUnknownCurves: a curve not in the table is refused, named or explicit, and so is a
// known curve with one parameter changed.
func TestUnknownCurves(t *testing.T) {
	bp := ecparams.ByName("brainpoolP256r1").Explicit()
	i := bytes.Index(bp, []byte{0x04, 0x20, 0x7d, 0x5a}) // coefficient a
	if i < 0 {
		t.Fatal("coefficient a not found")
	}
	changedA := bytes.Clone(bp)
	changedA[i+5] ^= 1
	secpK1, err := asn1.Marshal(asn1.ObjectIdentifier{1, 3, 132, 0, 10})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"secp256k1 explicit":  opensslParams(t, "secp256k1", true),
		"secp256k1 named":     secpK1,
		"brainpool a changed": changedA,
		"brainpoolP320r1":     opensslParams(t, "brainpoolP320r1", true),
	}
	for name, der := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := ecparams.ParseParameters(der); !errors.Is(err, ecparams.ErrUnknownCurve) {
				t.Fatalf("got %v, want ErrUnknownCurve", err)
			}
		})
	}
	if _, err := ecparams.ParseParameters([]byte{0x05, 0x00}); !errors.Is(err, ecparams.ErrMalformed) {
		t.Errorf("implicitlyCA: %v", err)
	}
}

// TestPublicKeyRoundTrip: every curve, named and explicit, survives Marshal/Parse.
func TestPublicKeyRoundTrip(t *testing.T) {
	for _, c := range ecparams.Curves() {
		k, err := ecdsa.GenerateKey(c.Curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		for _, explicit := range []bool{false, true} {
			spki, err := ecparams.MarshalPublicKey(&k.PublicKey, explicit)
			if err != nil {
				t.Fatal(err)
			}
			pub, p, err := ecparams.ParsePublicKey(spki)
			if err != nil || !pub.Equal(&k.PublicKey) || p.Curve != c || p.Explicit != explicit {
				t.Fatalf("%s explicit=%v: %+v %v", c.Name, explicit, p, err)
			}
			if any, err := ecparams.ParsePKIXPublicKey(spki); err != nil || !k.PublicKey.Equal(any) {
				t.Fatalf("%s explicit=%v: ParsePKIXPublicKey: %v", c.Name, explicit, err)
			}
			bad := bytes.Clone(spki)
			bad[len(bad)-1] ^= 1 // point off the curve
			if _, _, err := ecparams.ParsePublicKey(bad); !errors.Is(err, ecparams.ErrMalformed) {
				t.Errorf("%s: point off the curve: %v", c.Name, err)
			}
		}
	}
}

// TestGermanCSCA: the real German CSCA (brainpoolP512r1 written out) is refused by
// crypto/x509 and read by ParseCertificate; its self-signature verifies.
func TestGermanCSCA(t *testing.T) {
	der := ecparamstest.ReadInterop(t, ecparamstest.GermanCSCA)
	if _, err := x509.ParseCertificate(der); err == nil || !strings.Contains(err.Error(), "invalid ECDSA parameters") {
		t.Fatalf("crypto/x509 should refuse the German CSCA, got %v", err)
	}
	c, err := ecparams.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if got := ecparams.Describe(c); got != "brainpoolP512r1 (explicit parameters)" {
		t.Errorf("key %q", got)
	}
	if !bytes.Equal(c.Raw, der) || c.Subject.Country[0] != "DE" || !c.IsCA || c.SerialNumber.Int64() != 1229 {
		t.Errorf("fields: %v %v %v", c.Subject, c.IsCA, c.SerialNumber)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("self-signature: %v", err)
	}
	tampered := bytes.Clone(der)
	tampered[len(tampered)-10] ^= 1
	if c2, err := ecparams.ParseCertificate(tampered); err == nil && c2.CheckSignatureFrom(c) == nil {
		t.Error("a tampered signature verifies")
	}
}

// TestCreateCertificate: CSCA and Document Signer of every set; each certificate parses
// back, names its key correctly and verifies against its issuer, never against another.
func TestCreateCertificate(t *testing.T) {
	other, err := ecparamstest.NewSet("ZZ", "P-256", true)
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range ecparamstest.Sets {
		s, err := ecparamstest.NewSet("UT", sc.Curve, sc.Explicit)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(s.Name, func(t *testing.T) {
			want := ecparams.Parameters{Curve: s.Curve, Explicit: s.Explicit}.String()
			for _, c := range []*x509.Certificate{s.CSCA, s.DS} {
				if got := ecparams.Describe(c); got != want {
					t.Errorf("%s: key %q, want %q", c.Subject, got, want)
				}
				again, err := ecparams.ParseCertificate(c.Raw)
				if err != nil || !again.Equal(c) {
					t.Fatalf("reparse: %v", err)
				}
			}
			if err := s.CSCA.CheckSignatureFrom(s.CSCA); err != nil {
				t.Errorf("CSCA self-signature: %v", err)
			}
			if err := s.DS.CheckSignatureFrom(s.CSCA); err != nil {
				t.Errorf("DS signature: %v", err)
			}
			if err := s.DS.CheckSignatureFrom(other.CSCA); err == nil {
				t.Error("DS verifies against another CSCA")
			}
			_, explicitGoRefuses := x509.ParseCertificate(s.DS.Raw)
			if s.Explicit && explicitGoRefuses == nil {
				t.Error("crypto/x509 parsed an explicit-parameter certificate: the test data is not what it claims")
			}
		})
	}
}
