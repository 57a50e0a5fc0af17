package pki_test

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
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cccd-project/cccd/hsm/pki"
	"github.com/cccd-project/cccd/hsm/pki/masterlist"
)

var (
	authority = pki.Authority{Country: "VN", Organization: "Bo Cong an", CRLURL: "http://pki.example.vn/csca.crl"}
	now       = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)

	oidKeyUsage         = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidSKI              = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidAKI              = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidCRLDP            = asn1.ObjectIdentifier{2, 5, 29, 31}
	oidEKU              = asn1.ObjectIdentifier{2, 5, 29, 37}
)

func ecKey(t testing.TB, c elliptic.Curve) crypto.Signer {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ext(t *testing.T, c *x509.Certificate, oid asn1.ObjectIdentifier) pkix.Extension {
	t.Helper()
	for _, e := range c.Extensions {
		if e.Id.Equal(oid) {
			return e
		}
	}
	t.Fatalf("%s: extension %v missing", c.Subject.CommonName, oid)
	return pkix.Extension{}
}

func hasExt(c *x509.Certificate, oid asn1.ObjectIdentifier) bool {
	for _, e := range c.Extensions {
		if e.Id.Equal(oid) {
			return true
		}
	}
	return false
}

// checkCountryNames checks that an alternative name extension is GeneralNames holding one
// directoryName whose only attribute is countryName = VN (ICAO 9303-12 §7.1.1).
func checkCountryNames(t *testing.T, c *x509.Certificate, oid asn1.ObjectIdentifier) {
	t.Helper()
	e := ext(t, c, oid)
	if e.Critical {
		t.Errorf("%v critical", oid)
	}
	var names []asn1.RawValue
	if rest, err := asn1.Unmarshal(e.Value, &names); err != nil || len(rest) != 0 || len(names) != 1 {
		t.Fatalf("%v: GeneralNames %v", oid, err)
	}
	if names[0].Class != asn1.ClassContextSpecific || names[0].Tag != 4 {
		t.Fatalf("%v: not a directoryName (tag %d)", oid, names[0].Tag)
	}
	var rdn pkix.RDNSequence
	if _, err := asn1.Unmarshal(names[0].Bytes, &rdn); err != nil {
		t.Fatal(err)
	}
	var n pkix.Name
	n.FillFromRDNSequence(&rdn)
	if len(n.Country) != 1 || n.Country[0] != "VN" || len(n.Names) != 1 {
		t.Errorf("%v: directoryName %v, want C=VN", oid, n)
	}
}

func checkPKUP(t *testing.T, c *x509.Certificate, from, to time.Time) {
	t.Helper()
	if ext(t, c, pki.OIDPrivateKeyUsagePeriod).Critical {
		t.Error("PrivateKeyUsagePeriod critical")
	}
	f, u, err := pki.PrivateKeyUsagePeriod(c)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Equal(from) || !u.Equal(to) {
		t.Errorf("PrivateKeyUsagePeriod %v..%v, want %v..%v", f, u, from, to)
	}
}

func TestCSCAProfile(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  crypto.Signer
		alg  x509.SignatureAlgorithm
	}{
		{"ecdsa-p384", ecKey(t, elliptic.P384()), x509.ECDSAWithSHA384},
		{"rsa-3072", rsaKey(t), x509.SHA256WithRSA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := pki.NewCSCA(tc.key, pki.CSCAOptions{Authority: authority, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if c.Version != 3 || c.SignatureAlgorithm != tc.alg {
				t.Errorf("version %d alg %v", c.Version, c.SignatureAlgorithm)
			}
			if !bytes.Equal(c.RawSubject, c.RawIssuer) || c.CheckSignatureFrom(c) != nil {
				t.Error("not self-signed")
			}
			if c.Subject.Country[0] != "VN" || c.Subject.CommonName != "CSCA VN" || c.Subject.SerialNumber != "001" {
				t.Errorf("subject %v", c.Subject)
			}
			if c.SerialNumber.Sign() <= 0 || len(c.SerialNumber.Bytes()) > 20 {
				t.Errorf("serial %v", c.SerialNumber)
			}
			if !ext(t, c, oidKeyUsage).Critical || c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
				t.Errorf("keyUsage %v", c.KeyUsage)
			}
			if !ext(t, c, oidBasicConstraints).Critical || !c.IsCA || c.MaxPathLen != 0 || !c.MaxPathLenZero {
				t.Errorf("basicConstraints CA=%v pathLen=%d", c.IsCA, c.MaxPathLen)
			}
			checkPKUP(t, c, now, now.AddDate(5, 0, 0))
			checkCountryNames(t, c, pki.OIDSubjectAltName)
			checkCountryNames(t, c, pki.OIDIssuerAltName)
			_ = ext(t, c, oidCRLDP)
			if len(c.CRLDistributionPoints) != 1 || c.CRLDistributionPoints[0] != authority.CRLURL {
				t.Errorf("CRL DP %v", c.CRLDistributionPoints)
			}
			_ = ext(t, c, oidSKI)
			if len(c.SubjectKeyId) != 20 || !bytes.Equal(c.AuthorityKeyId, c.SubjectKeyId) {
				t.Errorf("SKI %x AKI %x", c.SubjectKeyId, c.AuthorityKeyId)
			}
			if !c.NotBefore.Equal(now) || !c.NotAfter.Equal(now.AddDate(27, 3, 2)) {
				t.Errorf("validity %v..%v", c.NotBefore, c.NotAfter)
			}
			if y := c.NotAfter.Sub(c.NotBefore).Hours() / 24 / 365.25; y < 27 || y > 27.3 {
				t.Errorf("validity %.1f years, want 5y key usage + 22y3m2d", y)
			}
		})
	}
}

var rsaOnce crypto.Signer

func rsaKey(t testing.TB) crypto.Signer {
	if rsaOnce == nil {
		k, err := rsa.GenerateKey(rand.Reader, 3072)
		if err != nil {
			t.Fatal(err)
		}
		rsaOnce = k
	}
	return rsaOnce
}

func newCSCA(t *testing.T) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	k := ecKey(t, elliptic.P384())
	c, err := pki.NewCSCA(k, pki.CSCAOptions{Authority: authority, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return c, k
}

func TestDocumentSignerProfile(t *testing.T) {
	csca, cscaKey := newCSCA(t)
	dsKey := ecKey(t, elliptic.P256())
	ds, err := pki.IssueDocumentSigner(csca, cscaKey, dsKey.Public(), pki.DSOptions{Authority: authority, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.CheckSignatureFrom(csca); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ds.RawIssuer, csca.RawSubject) {
		t.Error("issuer is not the CSCA subject")
	}
	if !ext(t, ds, oidKeyUsage).Critical || ds.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("keyUsage %v, want digitalSignature only", ds.KeyUsage)
	}
	if hasExt(ds, oidBasicConstraints) || ds.IsCA {
		t.Error("DS carries basicConstraints")
	}
	if hasExt(ds, oidEKU) {
		t.Error("DS carries an extended key usage")
	}
	usageEnd := now.AddDate(0, 3, 0)
	checkPKUP(t, ds, now, usageEnd)
	checkCountryNames(t, ds, pki.OIDSubjectAltName)
	checkCountryNames(t, ds, pki.OIDIssuerAltName)
	if len(ds.CRLDistributionPoints) != 1 || ds.CRLDistributionPoints[0] != authority.CRLURL {
		t.Errorf("CRL DP %v", ds.CRLDistributionPoints)
	}
	if e := ext(t, ds, pki.OIDDocumentTypeList); e.Critical {
		t.Error("DocumentTypeList critical")
	}
	types, err := pki.DocumentTypes(ds)
	if err != nil || len(types) != 1 || types[0] != "ID" {
		t.Errorf("DocumentTypeList %v %v, want [ID]", types, err)
	}
	if !bytes.Equal(ds.AuthorityKeyId, csca.SubjectKeyId) || len(ds.SubjectKeyId) != 20 || bytes.Equal(ds.SubjectKeyId, csca.SubjectKeyId) {
		t.Errorf("AKI %x SKI %x", ds.AuthorityKeyId, ds.SubjectKeyId)
	}
	if !ds.NotBefore.Equal(now) || !ds.NotAfter.Equal(now.AddDate(22, 3, 2)) {
		t.Errorf("validity %v..%v", ds.NotBefore, ds.NotAfter)
	}
	opensslVerify(t, csca, nil, ds)
}

func TestDocumentSignerRejects(t *testing.T) {
	csca, cscaKey := newCSCA(t)
	pub := ecKey(t, elliptic.P256()).Public()
	tests := []struct {
		name string
		o    pki.DSOptions
		want error
	}{
		{"usage 4 months", pki.DSOptions{Authority: authority, Now: now, Lifetime: pki.Lifetime{DSUsageMonths: 4}}, pki.ErrProfile},
		{"cards of 10 years", pki.DSOptions{Authority: authority, Now: now, Lifetime: pki.Lifetime{CardValidity: pki.Span{Years: 10}}}, pki.ErrProfile},
		{"bad doc type", pki.DSOptions{Authority: authority, Now: now, DocumentTypes: []string{"id"}}, pki.ErrProfile},
		{"no CRL URL", pki.DSOptions{Authority: pki.Authority{Country: "VN", Organization: "x"}, Now: now}, pki.ErrProfile},
		{"CSCA key retired", pki.DSOptions{Authority: authority, Now: now.AddDate(5, 1, 0)}, pki.ErrNotInUsage},
		{"outlives CSCA", pki.DSOptions{Authority: authority, Now: now.AddDate(4, 11, 0), Lifetime: pki.Lifetime{CardValidity: pki.Span{Years: 23}}}, pki.ErrProfile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := pki.IssueDocumentSigner(csca, cscaKey, pub, tt.o); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestRollover(t *testing.T) {
	old, oldKey := newCSCA(t)
	newKey := ecKey(t, elliptic.P384())
	later := now.AddDate(3, 0, 0)
	next, link, err := pki.Rollover(old, oldKey, newKey, pki.CSCAOptions{Authority: authority, Now: later})
	if err != nil {
		t.Fatal(err)
	}
	if next.Subject.SerialNumber != "002" || next.CheckSignatureFrom(next) != nil {
		t.Errorf("new CSCA %v", next.Subject)
	}
	if err := link.CheckSignatureFrom(old); err != nil {
		t.Errorf("link not signed by the old CSCA: %v", err)
	}
	if !bytes.Equal(link.RawSubject, next.RawSubject) || !bytes.Equal(link.RawIssuer, old.RawSubject) {
		t.Error("link subject/issuer")
	}
	if !link.PublicKey.(*ecdsa.PublicKey).Equal(newKey.Public()) {
		t.Error("link does not carry the new key")
	}
	if !bytes.Equal(link.AuthorityKeyId, old.SubjectKeyId) || !bytes.Equal(link.SubjectKeyId, next.SubjectKeyId) {
		t.Error("link key identifiers")
	}
	if !link.IsCA || !link.MaxPathLenZero || link.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Error("link CA profile")
	}
	if link.NotAfter.After(old.NotAfter) {
		t.Error("link outlives the old CSCA")
	}
	checkPKUP(t, link, later, later.AddDate(5, 0, 0))
	// ICAO 9303-12 §5.1.1: a relying party that trusts the old CSCA authenticates the new
	// key through the link certificate, then verifies DS certificates against the new CSCA
	// (pathLen 0 forbids using the link as an intermediate).
	opensslVerify(t, old, nil, link)
	dsKey := ecKey(t, elliptic.P256())
	ds, err := pki.IssueDocumentSigner(next, newKey, dsKey.Public(), pki.DSOptions{Authority: authority, Now: later})
	if err != nil {
		t.Fatal(err)
	}
	opensslVerify(t, next, nil, ds)
}

func TestCRL(t *testing.T) {
	csca, key := newCSCA(t)
	revoked := []pki.Revoked{{Serial: big.NewInt(0x4242), At: now.Add(-time.Hour), Reason: 1}}
	der, err := pki.CRL(csca, key, revoked, pki.CRLOptions{Number: big.NewInt(7), ThisUpdate: now})
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(csca); err != nil {
		t.Error(err)
	}
	if crl.Number.Int64() != 7 || !crl.ThisUpdate.Equal(now) || !crl.NextUpdate.Equal(now.Add(90*24*time.Hour)) {
		t.Errorf("number %v thisUpdate %v nextUpdate %v", crl.Number, crl.ThisUpdate, crl.NextUpdate)
	}
	if !bytes.Equal(crl.AuthorityKeyId, csca.SubjectKeyId) {
		t.Error("CRL AKI")
	}
	if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Int64() != 0x4242 ||
		crl.RevokedCertificateEntries[0].ReasonCode != 1 {
		t.Errorf("entries %+v", crl.RevokedCertificateEntries)
	}
	bin := openssl(t)
	p := filepath.Join(t.TempDir(), "csca.crl")
	os.WriteFile(p, der, 0o600)
	out, err := exec.Command(bin, "crl", "-inform", "DER", "-in", p, "-noout", "-text").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl crl: %v\n%s", err, out)
	}
	for _, want := range []string{"Version 2", "X509v3 CRL Number", "4242", "Key Compromise", "X509v3 Authority Key Identifier"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("openssl crl output lacks %q:\n%s", want, out)
		}
	}
	if _, err := pki.CRL(csca, key, nil, pki.CRLOptions{Number: big.NewInt(8), ThisUpdate: now.Add(47 * time.Hour), Previous: now}); !errors.Is(err, pki.ErrCRLTooSoon) {
		t.Errorf("CRL after 47h: %v, want ErrCRLTooSoon", err)
	}
	if _, err := pki.CRL(csca, key, nil, pki.CRLOptions{Number: big.NewInt(8), ThisUpdate: now.Add(48 * time.Hour), Previous: now}); err != nil {
		t.Errorf("CRL after 48h: %v", err)
	}
}

func TestCRLSchedule(t *testing.T) {
	h := time.Hour
	tests := []struct {
		name               string
		last, pending      time.Time
		earliest, deadline time.Time
	}{
		{"first, nothing pending", time.Time{}, time.Time{}, time.Time{}, time.Time{}},
		{"quiet", now, time.Time{}, now.Add(48 * h), now.Add(90 * 24 * h)},
		{"revocation 1h after last", now, now.Add(h), now.Add(48 * h), now.Add(48 * h)},
		{"revocation 10 days after last", now, now.Add(240 * h), now.Add(48 * h), now.Add(240 * h)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, d := pki.CRLSchedule(tt.last, tt.pending)
			if !e.Equal(tt.earliest) || !d.Equal(tt.deadline) {
				t.Errorf("CRLSchedule = %v, %v; want %v, %v", e, d, tt.earliest, tt.deadline)
			}
			if !tt.pending.IsZero() && d.Sub(tt.pending) > 48*h {
				t.Error("deadline more than 48h after the revocation")
			}
		})
	}
}

func TestMasterListExport(t *testing.T) {
	csca, key := newCSCA(t)
	mlsKey := ecKey(t, elliptic.P256())
	mls, err := pki.NewMasterListSigner(csca, key, mlsKey.Public(), pki.MLSOptions{Authority: authority, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if mls.KeyUsage != x509.KeyUsageDigitalSignature || !ext(t, mls, oidKeyUsage).Critical {
		t.Error("MLS keyUsage")
	}
	if len(mls.UnknownExtKeyUsage) != 1 || !mls.UnknownExtKeyUsage[0].Equal(masterlist.OIDMasterListSigning) {
		t.Errorf("MLS EKU %v", mls.UnknownExtKeyUsage)
	}
	if hasExt(mls, oidBasicConstraints) || !bytes.Equal(mls.AuthorityKeyId, csca.SubjectKeyId) || len(mls.SubjectKeyId) != 20 {
		t.Error("MLS basicConstraints/AKI/SKI")
	}
	checkPKUP(t, mls, now, now.AddDate(3, 0, 0))
	checkCountryNames(t, mls, pki.OIDIssuerAltName)
	if !mls.NotAfter.Equal(now.AddDate(3, 0, 0)) {
		t.Errorf("MLS validity until %v", mls.NotAfter)
	}
	foreign, _ := newCSCA(t)
	der, err := pki.ExportMasterList([]*x509.Certificate{csca, foreign}, mls, mlsKey, now)
	if err != nil {
		t.Fatal(err)
	}
	ml, err := masterlist.Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	if len(ml.Certificates) != 2 {
		t.Errorf("%d certificates", len(ml.Certificates))
	}
	if s, err := ml.Verify(); err != nil || !s.Equal(mls) {
		t.Errorf("Verify: %v", err)
	}
	bin := openssl(t)
	dir := t.TempDir()
	in, ca, out := filepath.Join(dir, "ml.der"), filepath.Join(dir, "csca.pem"), filepath.Join(dir, "content.der")
	os.WriteFile(in, der, 0o600)
	os.WriteFile(ca, pemCert(csca), 0o600)
	b, err := exec.Command(bin, "cms", "-verify", "-inform", "DER", "-in", in, "-CAfile", ca, "-purpose", "any", "-out", out).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl cms -verify: %v\n%s", err, b)
	}
	content, _ := os.ReadFile(out)
	if !bytes.Equal(content, ml.SignedData.Content) {
		t.Error("openssl extracted other content")
	}
}

func openssl(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("openssl is required: %v", err)
	}
	return bin
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// opensslVerify runs `openssl verify -CAfile root [-untrusted chain] leaf` with the
// verification time pinned to the test's clock.
func opensslVerify(t *testing.T, root *x509.Certificate, chain []*x509.Certificate, leaf *x509.Certificate) {
	t.Helper()
	bin := openssl(t)
	dir := t.TempDir()
	ca, lf := filepath.Join(dir, "csca.pem"), filepath.Join(dir, "ds.pem")
	os.WriteFile(ca, pemCert(root), 0o600)
	os.WriteFile(lf, pemCert(leaf), 0o600)
	args := []string{"verify", "-attime", strconvTime(leaf.NotBefore.Add(time.Hour)), "-CAfile", ca}
	if len(chain) > 0 {
		var b []byte
		for _, c := range chain {
			b = append(b, pemCert(c)...)
		}
		un := filepath.Join(dir, "chain.pem")
		os.WriteFile(un, b, 0o600)
		args = append(args, "-untrusted", un)
	}
	out, err := exec.Command(bin, append(args, lf)...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ": OK") {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}
}

func strconvTime(t time.Time) string { return big.NewInt(t.Unix()).String() }
