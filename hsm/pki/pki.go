// Package pki issues the certificates and CRLs of the country's document PKI (ICAO Doc 9303
// part 12): the self-signed CSCA, CSCA link certificates for key rollover, Document Signer
// and Master List Signer certificates, CRLs, and signed CSCA Master Lists. It is pure: keys
// come in as crypto.Signer (from an hsm.KeyStore), certificates go out as *x509.Certificate;
// storage, dual control and scheduling live in hsm/authority.
package pki

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Object identifiers used by the profiles.
var (
	OIDPrivateKeyUsagePeriod = asn1.ObjectIdentifier{2, 5, 29, 16}           // RFC 3280 §4.2.1.4
	OIDSubjectAltName        = asn1.ObjectIdentifier{2, 5, 29, 17}           // RFC 5280 §4.2.1.6
	OIDIssuerAltName         = asn1.ObjectIdentifier{2, 5, 29, 18}           // RFC 5280 §4.2.1.7
	OIDDocumentTypeList      = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 6, 2} // ICAO 9303-12 §7.1.1.3
	OIDMasterListSigning     = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 3}    // ICAO 9303-12 §7.1.1
)

// Sentinel errors.
var (
	ErrProfile    = errors.New("pki: request violates the certificate profile")
	ErrNotInUsage = errors.New("pki: issuing key is outside its private key usage period")
)

// Defaults of ICAO 9303-12 §5 (key usage periods); the certificate validities follow from
// them and the longest card (see Lifetime).
const (
	DefaultCSCAKeyYears  = 5
	DefaultDSUsageMonths = 3
)

// Authority names the issuing State for subjects and alternative names.
type Authority struct {
	Country      string // ISO 3166-1 alpha-2, e.g. "VN" (9303-12 §7.1.1: countryName)
	Organization string // e.g. "Ministry of Public Security"
	CRLURL       string // CRL distribution point (9303-12 §7.1.1: mandatory for CSCA and DS)
}

// Validate checks the fields every profile needs.
func (a Authority) Validate() error {
	if len(a.Country) != 2 || a.Country[0] < 'A' || a.Country[0] > 'Z' || a.Country[1] < 'A' || a.Country[1] > 'Z' {
		return fmt.Errorf("%w: country %q must be two capital letters (ISO 3166-1 alpha-2)", ErrProfile, a.Country)
	}
	if a.Organization == "" {
		return fmt.Errorf("%w: organization is empty", ErrProfile)
	}
	if a.CRLURL == "" {
		return fmt.Errorf("%w: CRL distribution point URL is empty", ErrProfile)
	}
	return nil
}

func (a Authority) name(cn, serial string) pkix.Name {
	n := pkix.Name{Country: []string{a.Country}, Organization: []string{a.Organization}, CommonName: cn}
	if serial != "" {
		n.SerialNumber = serial
	}
	return n
}

// serialNumber returns a random positive serial of 127 bits (RFC 5280 §4.1.2.2: at most 20 octets).
func serialNumber() (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("pki: serial: %w", err)
	}
	b[0] &= 0x7f
	b[0] |= 0x40
	return new(big.Int).SetBytes(b), nil
}

// keyID is the RFC 5280 §4.2.1.2 method (1) key identifier: SHA-1 of the subjectPublicKey bits.
func keyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("pki: public key: %w", err)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil, fmt.Errorf("pki: public key: %w", err)
	}
	h := sha1.Sum(spki.PublicKey.Bytes)
	return h[:], nil
}

// privateKeyUsagePeriod encodes PrivateKeyUsagePeriod ::= SEQUENCE { notBefore [0]
// GeneralizedTime, notAfter [1] GeneralizedTime } (RFC 3280 §4.2.1.4; 9303-12 requires it for
// CSCA and DS certificates).
func privateKeyUsagePeriod(from, to time.Time) (pkix.Extension, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddBytes([]byte(from.UTC().Format("20060102150405Z")))
		})
		b.AddASN1(cbasn1.Tag(1).ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddBytes([]byte(to.UTC().Format("20060102150405Z")))
		})
	})
	v, err := b.Bytes()
	return pkix.Extension{Id: OIDPrivateKeyUsagePeriod, Value: v}, err
}

// PrivateKeyUsagePeriod returns the PrivateKeyUsagePeriod extension of c.
func PrivateKeyUsagePeriod(c *x509.Certificate) (from, to time.Time, err error) {
	for _, e := range c.Extensions {
		if !e.Id.Equal(OIDPrivateKeyUsagePeriod) {
			continue
		}
		var v struct {
			NotBefore time.Time `asn1:"tag:0,optional,generalized"`
			NotAfter  time.Time `asn1:"tag:1,optional,generalized"`
		}
		if rest, err := asn1.Unmarshal(e.Value, &v); err != nil || len(rest) != 0 {
			return time.Time{}, time.Time{}, fmt.Errorf("pki: malformed PrivateKeyUsagePeriod")
		}
		return v.NotBefore, v.NotAfter, nil
	}
	return time.Time{}, time.Time{}, fmt.Errorf("pki: certificate has no PrivateKeyUsagePeriod")
}

// countryNames encodes GeneralNames { directoryName { C=country } } for the subject and
// issuer alternative names (ICAO 9303-12 §7.1.1.2).
func countryNames(id asn1.ObjectIdentifier, country string) (pkix.Extension, error) {
	name, err := asn1.Marshal(pkix.Name{Country: []string{country}}.ToRDNSequence())
	if err != nil {
		return pkix.Extension{}, err
	}
	v, err := asn1.Marshal([]asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: name}})
	return pkix.Extension{Id: id, Value: v}, err
}

// documentTypeList encodes DocumentTypeListSyntax ::= SEQUENCE { version (v0),
// docTypeList SET OF PrintableString } (ICAO 9303-12 §7.1.1.3).
func documentTypeList(types []string) (pkix.Extension, error) {
	if len(types) == 0 {
		return pkix.Extension{}, fmt.Errorf("%w: empty DocumentTypeList", ErrProfile)
	}
	elems := make([][]byte, 0, len(types))
	for _, t := range types {
		if len(t) != 2 || !isPrintable(t) {
			return pkix.Extension{}, fmt.Errorf("%w: document type %q must be a two-letter MRZ code", ErrProfile, t)
		}
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.PrintableString, func(b *cryptobyte.Builder) { b.AddBytes([]byte(t)) })
		e, _ := b.Bytes()
		elems = append(elems, e)
	}
	slices.SortFunc(elems, bytes.Compare) // X.690 §11.6
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(0)
		b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
			for _, e := range elems {
				b.AddBytes(e)
			}
		})
	})
	v, err := b.Bytes()
	return pkix.Extension{Id: OIDDocumentTypeList, Value: v}, err
}

// DocumentTypes returns the document types named by the DocumentTypeList extension of c.
func DocumentTypes(c *x509.Certificate) ([]string, error) {
	for _, e := range c.Extensions {
		if !e.Id.Equal(OIDDocumentTypeList) {
			continue
		}
		var v struct {
			Version int
			Types   []string `asn1:"set"`
		}
		if rest, err := asn1.Unmarshal(e.Value, &v); err != nil || len(rest) != 0 || v.Version != 0 {
			return nil, fmt.Errorf("pki: malformed DocumentTypeList")
		}
		return v.Types, nil
	}
	return nil, fmt.Errorf("pki: certificate has no DocumentTypeList")
}

func isPrintable(s string) bool {
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '<') {
			return false
		}
	}
	return true
}

// create signs template with the issuer key and parses the result, checking that the
// signature verifies with the issuer certificate's key (like x509.CreateCertificate does).
func create(tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		return nil, fmt.Errorf("pki: sign certificate: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: parse issued certificate: %w", err)
	}
	return c, nil
}
