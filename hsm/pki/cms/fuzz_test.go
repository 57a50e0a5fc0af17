package cms_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/cccd-project/cccd/hsm/pki/cms"
)

// FuzzParse feeds arbitrary bytes to Parse and Verify; seeds are freshly signed structures.
func FuzzParse(f *testing.F) {
	// ECDSA only: RSA key generation under fuzzing instrumentation is too slow for the workers.
	for _, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384()} {
		k, _ := ecdsa.GenerateKey(c, rand.Reader)
		der, err := cms.Sign(oidLDSSecurityObject, []byte("seed content"), selfSigned(f, k), k, nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(der)
	}
	golden, err := os.ReadFile(filepath.Join("testdata", "sod-rsa-sha256.der"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden) // RSA PKCS#1 v1.5 seed
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, in []byte) {
		sd, err := cms.Parse(in)
		if err != nil {
			return
		}
		if len(sd.Signers) == 0 {
			t.Fatal("parsed SignedData without signers")
		}
		_, _ = sd.Verify() // must not panic on any parsed input
	})
}
