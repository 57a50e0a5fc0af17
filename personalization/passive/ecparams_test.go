package passive_test

import (
	"bytes"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cccd-project/cccd/hsm/pki/ecparams/ecparamstest"
	"github.com/cccd-project/cccd/hsm/pki/trust"
	"github.com/cccd-project/cccd/personalization/lds/ldstest"
	"github.com/cccd-project/cccd/personalization/passive"
	"github.com/cccd-project/cccd/personalization/sod"
	"github.com/cccd-project/cccd/smartcard/tlv"
)

// opensslChain is OpenSSL's verdict on "csca issued ds": `openssl verify`, or, where OpenSSL
// refuses the Document Signer only because its key has explicit parameters, `openssl dgst
// -verify` of the certificate's signature with the CSCA's public key.
func opensslChain(t *testing.T, dir string, csca, ds *x509.Certificate, hash string) bool {
	t.Helper()
	ecparamstest.WritePEM(t, filepath.Join(dir, "csca.pem"), csca)
	ecparamstest.WritePEM(t, filepath.Join(dir, "ds.pem"), ds)
	ok, out := ecparamstest.OpenSSL(t, dir, "verify", "-CAfile", "csca.pem", "ds.pem")
	if ok || !strings.Contains(out, ecparamstest.ExplicitRefusal) {
		return ok
	}
	return ecparamstest.OpenSSLSignedBy(t, dir, ds.Raw, csca, hash)
}

// opensslSOD is OpenSSL's verdict on an EF.SOD signed by ds under csca: `openssl cms
// -verify` with the CSCA as trust anchor, or, where OpenSSL refuses the explicit-parameter
// Document Signer as such, the CMS signature alone (-noverify) and opensslChain.
func opensslSOD(t *testing.T, dir string, efSOD []byte, csca, ds *x509.Certificate, hash string) bool {
	t.Helper()
	o, err := tlv.Decode(efSOD)
	if err != nil {
		t.Fatal(err)
	}
	cmsDER := o.Value
	if err := os.WriteFile(filepath.Join(dir, "sod.der"), cmsDER, 0o644); err != nil {
		t.Fatal(err)
	}
	ecparamstest.WritePEM(t, filepath.Join(dir, "csca.pem"), csca)
	ok, out := ecparamstest.OpenSSL(t, dir, "cms", "-verify", "-inform", "DER", "-in", "sod.der", "-CAfile", "csca.pem", "-purpose", "any", "-out", "/dev/null")
	if ok || !strings.Contains(out, ecparamstest.ExplicitRefusal) {
		return ok
	}
	ok, _ = ecparamstest.OpenSSL(t, dir, "cms", "-verify", "-noverify", "-inform", "DER", "-in", "sod.der", "-out", "/dev/null")
	return ok && opensslChain(t, dir, csca, ds, hash)
}

// TestExplicitParametersAgreeWithOpenSSL: for every explicit-parameter set (brainpool
// 256/384/512, P-256/384; and brainpool 256 named), Passive Authentication and OpenSSL
// agree: a genuine EF.SOD verifies, one whose Document Signer comes from another CSCA
// does not chain, and one with a changed signature does not verify.
func TestExplicitParametersAgreeWithOpenSSL(t *testing.T) {
	_, _, dgs, err := ldstest.Sample().Files()
	if err != nil {
		t.Fatal(err)
	}
	hashes := map[string]string{"brainpoolP256r1": "sha256", "P-256": "sha256", "brainpoolP384r1": "sha384", "P-384": "sha384", "brainpoolP512r1": "sha512"}
	for _, sc := range ecparamstest.Sets {
		set, err := ecparamstest.NewSet("DE", sc.Curve, sc.Explicit)
		if err != nil {
			t.Fatal(err)
		}
		stranger, err := ecparamstest.NewSet("XX", sc.Curve, sc.Explicit)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(set.Name, func(t *testing.T) {
			dir := t.TempDir()
			efSOD, err := sod.Sign(dgs, set.DS, set.DSKey)
			if err != nil {
				t.Fatal(err)
			}
			badSig := bytes.Clone(efSOD)
			badSig[len(badSig)-3] ^= 0x01 // inside the ECDSA signature
			cases := []struct {
				name    string
				efSOD   []byte
				anchor  *x509.Certificate
				genuine bool
				want    error
			}{
				{"genuine", efSOD, set.CSCA, true, nil},
				{"other CSCA", efSOD, stranger.CSCA, false, passive.ErrUnknownSigner},
				{"signature changed", badSig, set.CSCA, false, passive.ErrSignature},
			}
			for _, c := range cases {
				store := trust.New()
				if err := store.AddCSCA(c.anchor); err != nil {
					t.Fatal(err)
				}
				_, err := passive.Verify(c.efSOD, dgs, store, time.Now())
				cccd := err == nil
				if c.want != nil && !errors.Is(err, c.want) || c.want == nil && err != nil {
					t.Errorf("%s: cccd says %v, want %v", c.name, err, c.want)
				}
				openssl := opensslSOD(t, dir, c.efSOD, c.anchor, set.DS, hashes[sc.Curve])
				if openssl != cccd || cccd != c.genuine {
					t.Errorf("%s: cccd %v, openssl %v, want %v", c.name, cccd, openssl, c.genuine)
				}
				chain := opensslChain(t, dir, c.anchor, set.DS, hashes[sc.Curve])
				_, trustErr := store.VerifySigner(set.DS, time.Now())
				if chain != (trustErr == nil) {
					t.Errorf("%s: openssl verify %v, trust store %v", c.name, chain, trustErr)
				}
			}
		})
	}
}
