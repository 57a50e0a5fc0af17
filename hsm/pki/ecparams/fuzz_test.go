package ecparams_test

import (
	"bytes"
	"testing"

	"github.com/cccd-project/cccd/hsm/pki/ecparams"
	"github.com/cccd-project/cccd/hsm/pki/ecparams/ecparamstest"
)

// FuzzParseCertificate: no input panics; what parses re-parses to the same certificate
// and describes its key.
func FuzzParseCertificate(f *testing.F) {
	f.Add(ecparamstest.ReadInterop(f, ecparamstest.GermanCSCA))
	for _, sc := range ecparamstest.Sets[:2] {
		s, err := ecparamstest.NewSet("FZ", sc.Curve, sc.Explicit)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(s.CSCA.Raw)
		f.Add(s.DS.Raw)
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
