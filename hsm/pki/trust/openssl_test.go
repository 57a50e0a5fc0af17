package trust_test

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cccd-project/cccd/hsm/pki/ecparams"
	"github.com/cccd-project/cccd/hsm/pki/ecparams/ecparamstest"
	"github.com/cccd-project/cccd/hsm/pki/trust"
)

// TestGermanListAgreesWithOpenSSL: OpenSSL and the trust store agree on the real German
// files. The list's CMS signature verifies with its signer (openssl cms -verify; OpenSSL 3
// refuses the explicit-parameter signer as a chain element, so the chain link is checked
// with openssl dgst against the German CSCA's key), and OpenSSL verifies the self-signature
// of every self-signed CSCA the import added (openssl verify -check_ss_sig, one call).
func TestGermanListAgreesWithOpenSSL(t *testing.T) {
	dir := t.TempDir()
	in := ecparamstest.InteropDir(t)
	ml := filepath.Join(in, ecparamstest.GermanMasterList)
	cscaDER := ecparamstest.ReadInterop(t, ecparamstest.GermanCSCA)
	csca, err := ecparams.ParseCertificate(cscaDER)
	if err != nil {
		t.Fatal(err)
	}
	ecparamstest.WritePEM(t, filepath.Join(dir, "csca.pem"), csca)
	ok, out := ecparamstest.OpenSSL(t, dir, "cms", "-verify", "-inform", "DER", "-in", ml, "-CAfile", "csca.pem", "-purpose", "any", "-out", "/dev/null")
	if ok || !strings.Contains(out, ecparamstest.ExplicitRefusal) {
		t.Fatalf("openssl cms -verify with the explicit-parameter signer: %v %s (OpenSSL 3.0 refuses it as a chain element)", ok, out)
	}
	if ok, out := ecparamstest.OpenSSL(t, dir, "cms", "-verify", "-noverify", "-inform", "DER", "-in", ml, "-certsout", "signer.pem", "-out", "/dev/null"); !ok {
		t.Fatalf("openssl: the list's CMS signature does not verify with its signer: %s", out)
	}
	signerPEM, err := os.ReadFile(filepath.Join(dir, "signer.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(signerPEM)
	if blk == nil || !ecparamstest.OpenSSLSignedBy(t, dir, blk.Bytes, csca, "sha512") {
		t.Fatal("openssl: the German CSCA did not sign the list signer")
	}

	s := trust.New()
	if err := s.AddCSCA(csca); err != nil {
		t.Fatal(err)
	}
	der, err := os.ReadFile(ml)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.ImportList(der, germanListTime, "ml")
	if err != nil {
		t.Fatalf("cccd refuses the list openssl accepts: %v", err)
	}
	var self []*x509.Certificate
	for _, c := range r.Added {
		if !r.IsLink(c) {
			self = append(self, c)
		}
	}
	ecparamstest.WritePEM(t, filepath.Join(dir, "anchors.pem"), self...)
	args := []string{"verify", "-check_ss_sig", "-no_check_time", "-CAfile", "anchors.pem"}
	for i, c := range self {
		name := fmt.Sprintf("c%03d.pem", i)
		ecparamstest.WritePEM(t, filepath.Join(dir, name), c)
		args = append(args, name)
	}
	_, out = ecparamstest.OpenSSL(t, dir, args...)
	n := strings.Count(out, ": OK\n")
	// Several generations of a CSCA share a name, and OpenSSL looks anchors up by name: a
	// certificate it did not match with itself is checked again as its own only anchor.
	for _, name := range args[5:] {
		if strings.Contains(out, "error "+name+": verification failed") {
			if ok, o := ecparamstest.OpenSSL(t, dir, "verify", "-check_ss_sig", "-no_check_time", "-CAfile", name, name); ok {
				n++
			} else {
				t.Errorf("openssl refuses %s, which cccd added: %s", name, o)
			}
		}
	}
	if n != len(self) {
		t.Errorf("openssl verified %d of the %d self-signed CSCAs cccd added:\n%s", n, len(self), out)
	}
	t.Logf("openssl agrees on the list signature and on %d self-signed CSCAs", len(self))
}
