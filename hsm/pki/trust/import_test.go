package trust_test

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"os"
	"testing"
	"time"

	"github.com/cccd-project/cccd/hsm/pki/ecparams"
	"github.com/cccd-project/cccd/hsm/pki/ecparams/ecparamstest"
	"github.com/cccd-project/cccd/hsm/pki/trust"
)

// germanListTime is a time at which the German master list and its signer are valid.
var germanListTime = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// TestImportGermanMasterList imports the real German CSCA master list after trusting the
// German CSCA: every certificate that parses and whose signature chain checks is added,
// the rest are refused one by one with a reason, and the store round-trips with sources.
func TestImportGermanMasterList(t *testing.T) {
	csca, err := ecparams.ParseCertificate(ecparamstest.ReadInterop(t, ecparamstest.GermanCSCA))
	if err != nil {
		t.Fatal(err)
	}
	s := trust.New()
	ml := ecparamstest.ReadInterop(t, ecparamstest.GermanMasterList)
	if _, err := s.ImportList(ml, germanListTime, "ml"); !errors.Is(err, trust.ErrUnknownSigner) {
		t.Fatalf("import without the German CSCA: %v, want ErrUnknownSigner", err)
	}
	if err := s.AddCSCAFrom(csca, "add-csca "+ecparamstest.GermanCSCA); err != nil {
		t.Fatal(err)
	}
	r, err := s.ImportList(ml, germanListTime, "master list "+ecparamstest.GermanMasterList)
	if err != nil {
		t.Fatal(err)
	}
	// Counts of the 2026-05-28 list, checked by hand against `openssl asn1parse` (588
	// elements) and the refusals below.
	want := map[string]int{trust.ReasonInsecure: 22, trust.ReasonLinkUntrusted: 30, trust.ReasonNotCSCA: 9, trust.ReasonUnparsable: 4}
	if r.Total != 588 || len(r.Added) != 522 || r.AlreadyTrusted != 1 || r.Duplicates != 0 || r.Links != 173 || len(r.Refused) != 65 {
		t.Errorf("total %d added %d already %d duplicates %d links %d refused %d; want 588 522 1 0 173 65",
			r.Total, len(r.Added), r.AlreadyTrusted, r.Duplicates, r.Links, len(r.Refused))
	}
	for reason, n := range want {
		if r.ByReason[reason] != n {
			t.Errorf("refused %s: %d, want %d (all: %v)", reason, r.ByReason[reason], n, r.ByReason)
		}
	}
	if de := r.ByCountry["DE"]; de == nil || de.AlreadyTrusted != 1 || de.Added == 0 {
		t.Errorf("DE: %+v", de)
	}
	sum := 0
	for _, c := range r.ByCountry {
		sum += c.Added + c.AlreadyTrusted + c.Refused
	}
	if sum != r.Total-r.Duplicates {
		t.Errorf("by country sums to %d, want %d", sum, r.Total-r.Duplicates)
	}
	for _, f := range r.Refused {
		if f.Detail == "" {
			t.Errorf("refusal %d without detail", f.Index)
		}
	}
	// Every added certificate verifies: self-signed, or signed by a CSCA of the store.
	for _, c := range r.Added {
		if c.CheckSignatureFrom(c) == nil {
			continue
		}
		if _, err := s.VerifySigner(c, c.NotBefore.Add(time.Second)); err != nil && !errors.Is(err, trust.ErrExpired) {
			t.Errorf("added %s does not verify: %v", c.Subject, err)
		}
	}
	again, err := s.ImportList(ml, germanListTime, "again")
	if err != nil || len(again.Added) != 0 || again.AlreadyTrusted != 523 {
		t.Errorf("second import: %+v %v", again, err)
	}
	dir := t.TempDir()
	if err := s.Save(dir); err != nil {
		t.Fatal(err)
	}
	l, err := trust.Load(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	entries := l.Entries()
	if len(entries) != 523 {
		t.Fatalf("loaded %d, want 523", len(entries))
	}
	for _, e := range entries {
		want := "master list " + ecparamstest.GermanMasterList
		if e.Cert.Equal(csca) {
			want = "add-csca " + ecparamstest.GermanCSCA
		}
		if e.Source != want {
			t.Fatalf("%s: source %q, want %q", e.Cert.Subject, e.Source, want)
		}
	}
}

// TestImportExplicitList: a list signed under a brainpool CSCA with explicit parameters,
// holding good CSCAs of every curve, a link certificate, a duplicate, a certificate that
// does not parse, one on an unknown curve and one that is not a CSCA. Each is judged alone.
func TestImportExplicitList(t *testing.T) {
	home, err := ecparamstest.NewSet("DE", "brainpoolP512r1", true)
	if err != nil {
		t.Fatal(err)
	}
	var good []*x509.Certificate
	for _, sc := range ecparamstest.Sets {
		set, err := ecparamstest.NewSet("FR", sc.Curve, sc.Explicit)
		if err != nil {
			t.Fatal(err)
		}
		good = append(good, set.CSCA)
	}
	// A rollover: the new key under the same name, and the link signed by the old key.
	newKey, err := ecparamstest.NewKey("brainpoolP384r1")
	if err != nil {
		t.Fatal(err)
	}
	old := good[1]
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(77), Subject: old.Subject, NotBefore: old.NotBefore, NotAfter: old.NotAfter,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true}
	oldKeySet, err := ecparamstest.NewSet("IT", "brainpoolP384r1", true) // a CSCA whose link's issuer nobody trusts
	if err != nil {
		t.Fatal(err)
	}
	link, err := ecparams.CreateCertificate(rand.Reader, tmpl, oldKeySet.CSCA, &newKey.PublicKey, true, oldKeySet.CSCAKey)
	if err != nil {
		t.Fatal(err)
	}
	unknownCurve := bytes.Clone(good[0].Raw)
	i := bytes.Index(unknownCurve, ecparams.ByName("brainpoolP256r1").Explicit()[20:40])
	if i < 0 {
		t.Fatal("explicit parameters not found")
	}
	unknownCurve[i+5] ^= 0x10
	notCSCA := home.DS
	garbage := []byte{0x30, 0x03, 0x02, 0x01, 0x01}
	list := append(append([]*x509.Certificate{}, good...), link, good[2], notCSCA,
		&x509.Certificate{Raw: garbage}, &x509.Certificate{Raw: unknownCurve})
	ml, err := home.MasterList(list...)
	if err != nil {
		t.Fatal(err)
	}
	s := trust.New()
	if err := s.AddCSCA(home.CSCA); err != nil {
		t.Fatal(err)
	}
	r, err := s.ImportList(ml, time.Now(), "test")
	if err != nil {
		t.Fatal(err)
	}
	// masterlist.Encode removes the duplicate: DER SET OF.
	if len(r.Added) != len(good) || r.AlreadyTrusted != 1 || len(r.Refused) != 4 {
		t.Errorf("added %d already %d refused %+v", len(r.Added), r.AlreadyTrusted, r.Refused)
	}
	for reason, n := range map[string]int{trust.ReasonLinkUntrusted: 1, trust.ReasonNotCSCA: 1, trust.ReasonUnparsable: 1, trust.ReasonUnknownCurve: 1} {
		if r.ByReason[reason] != n {
			t.Errorf("%s: %d, want %d (%v)", reason, r.ByReason[reason], n, r.ByReason)
		}
	}
	// Once the old CSCA is trusted, the link certificate is accepted.
	if err := s.AddCSCA(oldKeySet.CSCA); err != nil {
		t.Fatal(err)
	}
	r, err = s.ImportList(ml, time.Now(), "test")
	if err != nil || len(r.Added) != 1 || r.Links != 1 {
		t.Fatalf("after trusting the link's issuer: %+v %v", r, err)
	}
}

// TestImportRawList: a list in the wild may repeat a certificate and hold elements that are
// not certificates; the repeat is counted once, the junk refused, the rest added.
func TestImportRawList(t *testing.T) {
	home, err := ecparamstest.NewSet("DE", "brainpoolP256r1", true)
	if err != nil {
		t.Fatal(err)
	}
	fr, err := ecparamstest.NewSet("FR", "P-384", true)
	if err != nil {
		t.Fatal(err)
	}
	ml, err := home.RawMasterList(fr.CSCA.Raw, home.CSCA.Raw, fr.CSCA.Raw, []byte{0x30, 0x00}, fr.CSCA.Raw)
	if err != nil {
		t.Fatal(err)
	}
	s := trust.New()
	if err := s.AddCSCA(home.CSCA); err != nil {
		t.Fatal(err)
	}
	r, err := s.ImportList(ml, time.Now(), "raw")
	if err != nil {
		t.Fatal(err)
	}
	if r.Total != 5 || len(r.Added) != 1 || !r.Added[0].Equal(fr.CSCA) || r.Duplicates != 2 || r.AlreadyTrusted != 1 ||
		len(r.Refused) != 1 || r.Refused[0].Index != 3 || r.Refused[0].Reason != trust.ReasonUnparsable {
		t.Fatalf("%+v", r)
	}
	if c := r.ByCountry["FR"]; c == nil || c.Added != 1 {
		t.Errorf("FR: %+v", c)
	}
	// A list whose own signature does not verify adds nothing.
	bad := bytes.Clone(ml)
	bad[len(bad)-2] ^= 1
	fresh := trust.New()
	if err := fresh.AddCSCA(home.CSCA); err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.ImportList(bad, time.Now(), "bad"); err == nil || len(fresh.CSCAs()) != 1 {
		t.Fatalf("a list with a broken signature: %v, %d trusted", err, len(fresh.CSCAs()))
	}
}

// TestExplicitCRL: a CRL signed by a brainpool CSCA with explicit parameters revokes its
// Document Signer in VerifySigner.
func TestExplicitCRL(t *testing.T) {
	set, err := ecparamstest.NewSet("DE", "brainpoolP384r1", true)
	if err != nil {
		t.Fatal(err)
	}
	s := trust.New()
	if err := s.AddCSCA(set.CSCA); err != nil {
		t.Fatal(err)
	}
	if _, err := s.VerifySigner(set.DS, time.Now()); err != nil {
		t.Fatalf("DS before the CRL: %v", err)
	}
	crl, err := ecparams.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1),
		ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(24 * time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: set.DS.SerialNumber, RevocationTime: time.Now().Add(-time.Minute)}},
		ExtraExtensions:           []pkix.Extension{}}, set.CSCA, set.CSCAKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddCRL(crl); err != nil {
		t.Fatal(err)
	}
	if _, err := s.VerifySigner(set.DS, time.Now()); !errors.Is(err, trust.ErrRevoked) {
		t.Fatalf("DS after the CRL: %v, want ErrRevoked", err)
	}
	other, err := ecparamstest.NewSet("FR", "brainpoolP384r1", true)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := ecparams.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(2),
		ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour)}, other.CSCA, other.CSCAKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddCRL(forged); !errors.Is(err, trust.ErrUnknownSigner) {
		t.Fatalf("CRL of an untrusted CSCA: %v", err)
	}
}
