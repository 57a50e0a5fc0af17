package ecparams_test

import (
	"bytes"
	"crypto/ecdsa"
	"testing"

	"github.com/cccd-project/cccd/hsm/pki/ecparams"
	"github.com/cccd-project/cccd/hsm/pki/ecparams/ecparamstest"
)

// FuzzParseCertificate: no input panics; what parses re-parses to the same certificate
// and describes its key.
func FuzzParseCertificate(f *testing.F) {
	// Seeds: the real German CSCA (brainpoolP512r1 written out), and the same with its
	// key's parameters named, which crypto/x509 refuses too. Keys are not generated here:
	// every fuzz worker runs this setup.
	de := ecparamstest.ReadInterop(f, ecparamstest.GermanCSCA)
	f.Add(de)
	c, err := ecparams.ParseCertificate(de)
	if err != nil {
		f.Fatal(err)
	}
	named, err := ecparams.MarshalPublicKey(c.PublicKey.(*ecdsa.PublicKey), false)
	if err != nil {
		f.Fatal(err)
	}
	if tbs, err := ecparams.ReplaceSubjectPublicKey(de, named); err == nil {
		f.Add(append(append([]byte{0x30, 0x82, byte((len(tbs) + len(c.Raw) - len(c.RawTBSCertificate)) >> 8),
			byte(len(tbs) + len(c.Raw) - len(c.RawTBSCertificate))}, tbs...), c.Raw[len(c.Raw)-(len(c.Raw)-4-len(c.RawTBSCertificate)):]...))
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		c, err := ecparams.ParseCertificate(der)
		if err != nil {
			return
		}
		if !bytes.Equal(c.Raw, der) {
			t.Fatal("Raw differs from the input")
		}
		again, err := ecparams.ParseCertificate(c.Raw)
		if err != nil || !again.Equal(c) {
			t.Fatalf("reparse: %v", err)
		}
		_ = ecparams.Describe(c)
	})
}

// FuzzParseParameters: no input panics; a recognized curve's own encodings parse back to it.
func FuzzParseParameters(f *testing.F) {
	for _, c := range ecparams.Curves() {
		f.Add(c.Explicit())
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		p, err := ecparams.ParseParameters(der)
		if err != nil {
			return
		}
		q, err := ecparams.ParseParameters(p.Curve.Explicit())
		if err != nil || q.Curve != p.Curve {
			t.Fatalf("%s: own explicit encoding: %v", p.Curve.Name, err)
		}
	})
}

// FuzzParsePublicKey: no input panics (DG15 keys come from the chip); a key that parses is
// on its curve and marshals back to a key that parses to the same point.
func FuzzParsePublicKey(f *testing.F) {
	for _, c := range ecparams.Curves() {
		p := c.Curve.Params()
		for _, explicit := range []bool{false, true} {
			spki, err := ecparams.MarshalPublicKey(&ecdsa.PublicKey{Curve: c.Curve, X: p.Gx, Y: p.Gy}, explicit)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(spki)
		}
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		pub, p, err := ecparams.ParsePublicKey(der)
		if err != nil {
			return
		}
		if !pub.Curve.IsOnCurve(pub.X, pub.Y) {
			t.Fatal("point off the curve accepted")
		}
		again, err := ecparams.MarshalPublicKey(pub, p.Explicit)
		if err != nil {
			t.Fatal(err)
		}
		if k, _, err := ecparams.ParsePublicKey(again); err != nil || !k.Equal(pub) {
			t.Fatalf("round trip: %v", err)
		}
		_, _ = ecparams.ParsePKIXPublicKey(der)
	})
}
