// Package sodtest builds throwaway document PKIs for tests of EF.SOD signing and Passive
// Authentication: a CSCA and Document Signers issued with crypto/x509 in the ICAO 9303-12
// profile (REFERENCE.md §6), keys P-256 derived from a name so that files written under
// testdata/ keep the same keys when regenerated. Test support only: never use these keys.
package sodtest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"slices"
	"time"
)

// PKI is one country's CSCA with its key.
type PKI struct {
	CSCA    *x509.Certificate
	CSCAKey *ecdsa.PrivateKey
	serial  int64
}

// DS is a Document Signer certificate with its key.
type DS struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// oidDocumentTypeList is id-icao-mrtd-security-extensions-documentTypeList (ICAO 9303-12 §7.1.1.3).
var oidDocumentTypeList = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 6, 2}

// Key derives a P-256 key from a label, the same on every run.
func Key(label string) *ecdsa.PrivateKey {
	d := sha256.Sum256([]byte("sodtest " + label))
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d[:])
	if err != nil {
		panic(fmt.Sprintf("sodtest: %v", err)) // a SHA-256 value is below the P-256 order
	}
	return k
}

// NewPKI issues a self-signed CSCA "CSCA <country>" valid 15 years from notBefore
// (keyCertSign + cRLSign critical, CA with path length 0).
func NewPKI(country string, notBefore time.Time) (*PKI, error) {
	key := Key("csca " + country)
	name := pkix.Name{Country: []string{country}, Organization: []string{"cccd test"}, CommonName: "CSCA " + country}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               name,
		NotBefore:             notBefore,
		NotAfter:              notBefore.AddDate(15, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("sodtest: csca: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("sodtest: csca: %w", err)
	}
	return &PKI{CSCA: cert, CSCAKey: key, serial: 1}, nil
}

// NewDS issues a Document Signer "DS <label>" with a derived in-memory key, valid from
// notBefore to notAfter (digitalSignature only, DocumentTypeList "ID").
func (p *PKI) NewDS(label string, notBefore, notAfter time.Time) (*DS, error) {
	return p.NewDSWith(label, notBefore, notAfter, nil)
}

// NewDSWith is NewDS with options that vary the certificate.
func (p *PKI) NewDSWith(label string, notBefore, notAfter time.Time, o *DSOptions) (*DS, error) {
	key := Key("ds " + p.CSCA.Subject.CommonName + " " + label)
	cert, err := p.IssueDS(label, &key.PublicKey, notBefore, notAfter, o)
	if err != nil {
		return nil, err
	}
	return &DS{Cert: cert, Key: key}, nil
}

// DSOptions varies a Document Signer certificate away from the profile, for negative tests.
// The zero value (or nil) gives the ICAO 9303-12 profile.
type DSOptions struct {
	DocumentTypes []string      // DocumentTypeList entries; default ["ID"]
	KeyUsage      x509.KeyUsage // default digitalSignature
}

// IssueDS issues a Document Signer certificate "DS <label>" for a public key held elsewhere
// (e.g. in an HSM), valid from notBefore to notAfter.
func (p *PKI) IssueDS(label string, pub crypto.PublicKey, notBefore, notAfter time.Time, o *DSOptions) (*x509.Certificate, error) {
	var opts DSOptions
	if o != nil {
		opts = *o
	}
	if len(opts.DocumentTypes) == 0 {
		opts.DocumentTypes = []string{"ID"}
	}
	if opts.KeyUsage == 0 {
		opts.KeyUsage = x509.KeyUsageDigitalSignature
	}
	p.serial++
	var elems [][]byte
	for _, t := range opts.DocumentTypes {
		b, err := asn1.MarshalWithParams(t, "printable")
		if err != nil {
			return nil, err
		}
		elems = append(elems, b)
	}
	slices.SortFunc(elems, bytes.Compare) // DER SET OF order (X.690 §11.6)
	set := bytes.Join(elems, nil)
	docTypes, err := asn1.Marshal(struct { // DocumentTypeListSyntax
		Version int
		Types   asn1.RawValue
	}{0, asn1.RawValue{Tag: asn1.TagSet, IsCompound: true, Bytes: set}})
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial),
		Subject: pkix.Name{Country: p.CSCA.Subject.Country, Organization: []string{"cccd test"},
			CommonName: "DS " + label},
		NotBefore:       notBefore,
		NotAfter:        notAfter,
		KeyUsage:        opts.KeyUsage,
		ExtraExtensions: []pkix.Extension{{Id: oidDocumentTypeList, Value: docTypes}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.CSCA, pub, p.CSCAKey)
	if err != nil {
		return nil, fmt.Errorf("sodtest: ds: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("sodtest: ds: %w", err)
	}
	return cert, nil
}

// PEM returns a certificate in PEM form, e.g. for openssl -CAfile.
func PEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
