package pki

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"time"

	"github.com/cccd-project/cccd/hsm/pki/masterlist"
)

// CSCAOptions describes a CSCA certificate. Zero values take the defaults noted.
type CSCAOptions struct {
	Authority
	CommonName string    // default "CSCA <Country>"
	Sequence   int       // generation number, written as the subject serialNumber ("001"); default 1
	Lifetime   Lifetime  // key usage periods and validities; zero values take the Lifetime defaults
	Now        time.Time // default time.Now()
}

func (o CSCAOptions) withDefaults() CSCAOptions {
	if o.CommonName == "" {
		o.CommonName = "CSCA " + o.Country
	}
	if o.Sequence == 0 {
		o.Sequence = 1
	}
	o.Lifetime = o.Lifetime.WithDefaults()
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	o.Now = o.Now.UTC().Truncate(time.Second)
	return o
}

func (o CSCAOptions) validate() error {
	if err := o.Authority.Validate(); err != nil {
		return err
	}
	return o.Lifetime.Check()
}

// cscaTemplate is the CSCA profile of ICAO 9303-12 §7.1.1 (table 6) for the key pub.
func cscaTemplate(o CSCAOptions, pub crypto.PublicKey) (*x509.Certificate, error) {
	ski, err := keyID(pub)
	if err != nil {
		return nil, err
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, err
	}
	pkup, err := privateKeyUsagePeriod(o.Now, o.Now.AddDate(o.Lifetime.CSCAKeyYears, 0, 0))
	if err != nil {
		return nil, err
	}
	san, err := countryNames(OIDSubjectAltName, o.Country)
	if err != nil {
		return nil, err
	}
	ian, err := countryNames(OIDIssuerAltName, o.Country)
	if err != nil {
		return nil, err
	}
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               o.name(o.CommonName, fmt.Sprintf("%03d", o.Sequence)),
		NotBefore:             o.Now,
		NotAfter:              o.Lifetime.CSCAValidity.After(o.Now),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		SubjectKeyId:          ski,
		CRLDistributionPoints: []string{o.CRLURL},
		ExtraExtensions:       []pkix.Extension{pkup, san, ian},
	}, nil
}

// NewCSCA issues the self-signed CSCA certificate for key (ICAO 9303-12 §7.1.1): keyUsage
// keyCertSign+cRLSign (critical), basicConstraints CA pathLen 0 (critical),
// PrivateKeyUsagePeriod, subject and issuer alternative names carrying the country,
// CRL distribution point, subject/authority key identifiers.
func NewCSCA(key crypto.Signer, o CSCAOptions) (*x509.Certificate, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	tmpl, err := cscaTemplate(o, key.Public())
	if err != nil {
		return nil, err
	}
	tmpl.AuthorityKeyId = tmpl.SubjectKeyId
	return create(tmpl, tmpl, key.Public(), key)
}

// Rollover issues the next CSCA: a self-signed certificate for newKey (Sequence = old + 1
// unless set) and the link certificate (ICAO 9303-12 §5.1.1) carrying the new key and subject,
// signed by the old key, so verifiers that trust the old CSCA learn the new one. The old key
// must still be within its private key usage period.
func Rollover(old *x509.Certificate, oldKey, newKey crypto.Signer, o CSCAOptions) (newCSCA, link *x509.Certificate, err error) {
	o = o.withDefaults()
	if o.Sequence <= 1 {
		o.Sequence = nextSequence(old)
	}
	if err := inUsage(old, o.Now); err != nil {
		return nil, nil, err
	}
	newCSCA, err = NewCSCA(newKey, o)
	if err != nil {
		return nil, nil, err
	}
	tmpl, err := cscaTemplate(o, newKey.Public())
	if err != nil {
		return nil, nil, err
	}
	if tmpl.NotAfter.After(old.NotAfter) {
		tmpl.NotAfter = old.NotAfter
	}
	link, err = create(tmpl, old, newKey.Public(), oldKey)
	if err != nil {
		return nil, nil, err
	}
	return newCSCA, link, nil
}

func nextSequence(old *x509.Certificate) int {
	var n int
	if _, err := fmt.Sscanf(old.Subject.SerialNumber, "%d", &n); err != nil {
		return 2
	}
	return n + 1
}

// inUsage reports ErrNotInUsage unless at lies within the PrivateKeyUsagePeriod of c.
func inUsage(c *x509.Certificate, at time.Time) error {
	from, to, err := PrivateKeyUsagePeriod(c)
	if err != nil {
		return err
	}
	if at.Before(from) || at.After(to) {
		return fmt.Errorf("%w: %s usable %s..%s, now %s", ErrNotInUsage, c.Subject.CommonName,
			from.Format(time.DateOnly), to.Format(time.DateOnly), at.Format(time.DateOnly))
	}
	return nil
}

// DSOptions describes a Document Signer certificate. Zero values take the defaults noted.
type DSOptions struct {
	Authority
	CommonName    string    // default "Document Signer <Country>"
	SerialNumber  string    // subject serialNumber telling DS apart (e.g. the key label); optional
	Lifetime      Lifetime  // DSUsageMonths and CardValidity; zero values take the Lifetime defaults
	DocumentTypes []string  // DocumentTypeList; default ["ID"]
	Now           time.Time // default time.Now()
}

// IssueDocumentSigner issues a Document Signer certificate for pub, signed by the CSCA
// (ICAO 9303-12 §7.1.1): keyUsage digitalSignature only (critical), PrivateKeyUsagePeriod of
// Lifetime.DSUsageMonths, validity = Lifetime.DSValidity (usage period + longest card + its
// last day, ICAO 9303-12 §5), alternative names with the country,
// CRL distribution point, DocumentTypeList, AKI = CSCA SKI, SKI. The CSCA key must be within
// its usage period and the CSCA certificate must outlive the DS certificate.
func IssueDocumentSigner(csca *x509.Certificate, cscaKey crypto.Signer, pub crypto.PublicKey, o DSOptions) (*x509.Certificate, error) {
	if o.CommonName == "" {
		o.CommonName = "Document Signer " + o.Country
	}
	o.Lifetime = o.Lifetime.WithDefaults()
	if len(o.DocumentTypes) == 0 {
		o.DocumentTypes = []string{"ID"}
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	o.Now = o.Now.UTC().Truncate(time.Second)
	if err := o.Authority.Validate(); err != nil {
		return nil, err
	}
	if err := o.Lifetime.Check(); err != nil {
		return nil, err
	}
	if err := inUsage(csca, o.Now); err != nil {
		return nil, err
	}
	usageEnd := o.Now.AddDate(0, o.Lifetime.DSUsageMonths, 0)
	notAfter := o.Lifetime.DSValidity().After(o.Now)
	if notAfter.After(csca.NotAfter) {
		return nil, fmt.Errorf("%w: DS validity until %s (%s) exceeds the CSCA's %s", ErrProfile,
			notAfter.Format(time.DateOnly), o.Lifetime.Arithmetic(), csca.NotAfter.Format(time.DateOnly))
	}
	exts, err := leafExtensions(o.Country, o.Now, usageEnd)
	if err != nil {
		return nil, err
	}
	dtl, err := documentTypeList(o.DocumentTypes)
	if err != nil {
		return nil, err
	}
	return issueLeaf(csca, cscaKey, pub, &x509.Certificate{
		Subject:               o.name(o.CommonName, o.SerialNumber),
		NotBefore:             o.Now,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		CRLDistributionPoints: []string{o.CRLURL},
		ExtraExtensions:       append(exts, dtl),
	})
}

// MLSOptions describes a Master List Signer certificate.
type MLSOptions struct {
	Authority
	CommonName string    // default "Master List Signer <Country>"
	Years      int       // validity and key usage; default 3
	Now        time.Time // default time.Now()
}

// NewMasterListSigner issues a Master List Signer certificate for pub, signed by the CSCA
// (ICAO 9303-12 §7.1.1): keyUsage digitalSignature (critical), extended key usage
// id-icao-cscaMasterListSigningKey, PrivateKeyUsagePeriod, alternative names, CRL DP.
func NewMasterListSigner(csca *x509.Certificate, cscaKey crypto.Signer, pub crypto.PublicKey, o MLSOptions) (*x509.Certificate, error) {
	if o.CommonName == "" {
		o.CommonName = "Master List Signer " + o.Country
	}
	if o.Years == 0 {
		o.Years = 3
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	o.Now = o.Now.UTC().Truncate(time.Second)
	if err := o.Authority.Validate(); err != nil {
		return nil, err
	}
	if err := inUsage(csca, o.Now); err != nil {
		return nil, err
	}
	notAfter := o.Now.AddDate(o.Years, 0, 0)
	if notAfter.After(csca.NotAfter) {
		notAfter = csca.NotAfter
	}
	exts, err := leafExtensions(o.Country, o.Now, notAfter)
	if err != nil {
		return nil, err
	}
	return issueLeaf(csca, cscaKey, pub, &x509.Certificate{
		Subject:               o.name(o.CommonName, ""),
		NotBefore:             o.Now,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		UnknownExtKeyUsage:    []asn1.ObjectIdentifier{OIDMasterListSigning},
		CRLDistributionPoints: []string{o.CRLURL},
		ExtraExtensions:       exts,
	})
}

func leafExtensions(country string, from, to time.Time) ([]pkix.Extension, error) {
	pkup, err := privateKeyUsagePeriod(from, to)
	if err != nil {
		return nil, err
	}
	san, err := countryNames(OIDSubjectAltName, country)
	if err != nil {
		return nil, err
	}
	ian, err := countryNames(OIDIssuerAltName, country)
	if err != nil {
		return nil, err
	}
	return []pkix.Extension{pkup, san, ian}, nil
}

func issueLeaf(csca *x509.Certificate, cscaKey crypto.Signer, pub crypto.PublicKey, tmpl *x509.Certificate) (*x509.Certificate, error) {
	var err error
	if tmpl.SerialNumber, err = serialNumber(); err != nil {
		return nil, err
	}
	if tmpl.SubjectKeyId, err = keyID(pub); err != nil {
		return nil, err
	}
	return create(tmpl, csca, pub, cscaKey)
}

// ExportMasterList signs a CSCA Master List (ICAO 9303-12 §9) holding cscas (own CSCAs,
// link certificates and trusted foreign CSCAs) with the Master List Signer.
func ExportMasterList(cscas []*x509.Certificate, mls *x509.Certificate, mlsKey crypto.Signer, at time.Time) ([]byte, error) {
	if at.IsZero() {
		at = time.Now()
	}
	return masterlist.Sign(cscas, mls, mlsKey, at)
}
