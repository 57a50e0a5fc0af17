package ecparams

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// MaxCertificateSize bounds what ParseCertificate reads (real CSCA certificates are 1-2 KB).
const MaxCertificateSize = 64 << 10

// placeholderSPKI is a SubjectPublicKeyInfo crypto/x509 accepts (the P-256 base point).
// ParseCertificate substitutes it for a key crypto/x509 refuses, parses the rest of the
// certificate with crypto/x509, and puts the original bytes and the real key back.
var placeholderSPKI = func() []byte {
	p := elliptic.P256().Params()
	b, err := MarshalPublicKey(&ecdsa.PublicKey{Curve: elliptic.P256(), X: p.Gx, Y: p.Gy}, false)
	if err != nil {
		panic(err)
	}
	return b
}()

// ParseCertificate parses a DER X.509 certificate like x509.ParseCertificate, and also
// one whose elliptic-curve key has explicit domain parameters or names a brainpool curve
// (see ParseParameters). For such a certificate every field is what crypto/x509 parses,
// except PublicKey (an *ecdsa.PublicKey on the matched curve), PublicKeyAlgorithm (ECDSA),
// and Raw, RawTBSCertificate and RawSubjectPublicKeyInfo, which hold the certificate's own
// bytes, so that its signature and the signatures it makes verify as usual. A curve that is
// not known is refused with ErrUnknownCurve.
func ParseCertificate(der []byte) (*x509.Certificate, error) {
	c, x509Err := x509.ParseCertificate(der)
	if x509Err == nil {
		return c, nil
	}
	if len(der) > MaxCertificateSize {
		return nil, x509Err
	}
	parts, ok := splitCertificate(der)
	if !ok {
		return nil, x509Err
	}
	pub, _, err := ParsePublicKey(parts.spki)
	switch {
	case errors.Is(err, ErrNotEC):
		return nil, x509Err
	case err != nil:
		return nil, fmt.Errorf("x509: subject public key: %w", err)
	}
	stand, err := parts.with(placeholderSPKI)
	if err != nil {
		return nil, x509Err
	}
	c, err = x509.ParseCertificate(stand)
	if err != nil {
		return nil, err
	}
	c.Raw, c.RawTBSCertificate, c.RawSubjectPublicKeyInfo = der, parts.tbs, parts.spki
	c.PublicKey, c.PublicKeyAlgorithm = pub, x509.ECDSA
	return c, nil
}

// certParts are the pieces of a DER Certificate (RFC 5280 §4.1) ParseCertificate needs.
type certParts struct {
	tbs, beforeSPKI, spki, afterSPKI []byte // tbs is the whole TBSCertificate element
	sigAlg, sig                      []byte // signatureAlgorithm and signatureValue elements
}

func splitCertificate(der []byte) (certParts, bool) {
	var p certParts
	in := cryptobyte.String(der)
	var cert, tbs cryptobyte.String
	if !in.ReadASN1(&cert, cbasn1.SEQUENCE) || !in.Empty() {
		return p, false
	}
	if !cert.ReadASN1Element(&tbs, cbasn1.SEQUENCE) || !cert.ReadASN1Element((*cryptobyte.String)(&p.sigAlg), cbasn1.SEQUENCE) ||
		!cert.ReadASN1Element((*cryptobyte.String)(&p.sig), cbasn1.BIT_STRING) || !cert.Empty() {
		return p, false
	}
	p.tbs = tbs
	var body cryptobyte.String
	if !tbs.ReadASN1(&body, cbasn1.SEQUENCE) {
		return p, false
	}
	start := body
	var skip cryptobyte.String
	if !body.SkipOptionalASN1(cbasn1.Tag(0).ContextSpecific().Constructed()) ||
		!body.ReadASN1Element(&skip, cbasn1.INTEGER) || // serialNumber
		!body.ReadASN1Element(&skip, cbasn1.SEQUENCE) || // signature
		!body.ReadASN1Element(&skip, cbasn1.SEQUENCE) || // issuer
		!body.ReadASN1Element(&skip, cbasn1.SEQUENCE) || // validity
		!body.ReadASN1Element(&skip, cbasn1.SEQUENCE) { // subject
		return p, false
	}
	p.beforeSPKI = start[:len(start)-len(body)]
	if !body.ReadASN1Element((*cryptobyte.String)(&p.spki), cbasn1.SEQUENCE) {
		return p, false
	}
	p.afterSPKI = body
	return p, true
}

// with returns the certificate with spki in place of its own (its signature then no
// longer verifies: the result is only parsed).
func (p certParts) with(spki []byte) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddBytes(p.beforeSPKI)
			b.AddBytes(spki)
			b.AddBytes(p.afterSPKI)
		})
		b.AddBytes(p.sigAlg)
		b.AddBytes(p.sig)
	})
	return b.Bytes()
}

// ReplaceSubjectPublicKey returns the DER TBSCertificate of the certificate der with spki
// as its subject public key: the first half of building a certificate for a key crypto/x509
// cannot write (a brainpool or explicit-parameter key); the caller then signs the result
// with Sign. Test data generation uses it.
func ReplaceSubjectPublicKey(der, spki []byte) ([]byte, error) {
	p, ok := splitCertificate(der)
	if !ok {
		return nil, fmt.Errorf("%w: not a certificate", ErrMalformed)
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(p.beforeSPKI)
		b.AddBytes(spki)
		b.AddBytes(p.afterSPKI)
	})
	return b.Bytes()
}

// Describe names the subject key of c: "brainpoolP512r1 (explicit parameters)",
// "P-384 (named curve)", "RSA 4096", or the algorithm's name.
func Describe(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		if _, p, err := ParsePublicKey(c.RawSubjectPublicKeyInfo); err == nil {
			return p.String()
		}
		return k.Curve.Params().Name
	}
	return c.PublicKeyAlgorithm.String()
}
