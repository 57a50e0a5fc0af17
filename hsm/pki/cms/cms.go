// Package cms builds, parses and verifies CMS SignedData (RFC 5652 §5) in the profile ICAO
// Doc 9303 uses for EF.SOD (part 10 §4.6.2) and for CSCA master lists (part 12 §9):
// version 3, one encapsulated eContent, the signer's certificate embedded, one SignerInfo
// identified by issuerAndSerialNumber, and signed attributes contentType, messageDigest and
// signingTime. It is pure: bytes in, bytes out, signing through any crypto.Signer.
package cms

import (
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Object identifiers (RFC 5652 §14, RFC 5754, RFC 4055, RFC 5758).
var (
	OIDData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	OIDSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	OIDContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	OIDMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	OIDSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}

	OIDSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	OIDSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	OIDSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	OIDECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	OIDECDSAWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	OIDECDSAWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	OIDRSAEncryption   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	OIDSHA256WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	OIDSHA384WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	OIDSHA512WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	OIDRSASSAPSS       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	OIDMGF1            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
)

// Sentinel errors.
var (
	ErrMalformed   = errors.New("cms: malformed SignedData")
	ErrUnsupported = errors.New("cms: unsupported algorithm")
	ErrSignature   = errors.New("cms: signature does not verify")
	ErrDigest      = errors.New("cms: messageDigest does not match the content")
	ErrNoSigner    = errors.New("cms: signer certificate not found")
)

// MaxSize bounds the input Parse accepts (a national master list holds a few hundred
// certificates, well under this).
const MaxSize = 16 << 20

// SignOptions tunes Sign. The zero value (or nil) means SHA-256, PKCS#1 v1.5 for RSA keys,
// signingTime now.
type SignOptions struct {
	Hash        crypto.Hash // SHA256 (default), SHA384 or SHA512
	PSS         bool        // RSASSA-PSS (RFC 4055) instead of PKCS#1 v1.5 for RSA keys; salt length = hash size
	SigningTime time.Time   // zero: time.Now()
}

// SignerInfo is one parsed SignerInfo (RFC 5652 §5.3).
type SignerInfo struct {
	Version            int
	IssuerRaw          []byte   // issuerAndSerialNumber: issuer Name DER (version 1)
	SerialNumber       *big.Int // issuerAndSerialNumber: serial (version 1)
	SubjectKeyID       []byte   // subjectKeyIdentifier (version 3)
	DigestAlgorithm    asn1.ObjectIdentifier
	SignedAttrs        []byte // DER of the signed attributes re-tagged as SET (what was signed)
	SignatureAlgorithm asn1.ObjectIdentifier
	SignatureParams    []byte // raw parameters (RSASSA-PSS-params), or nil
	Signature          []byte

	// Values of the mandatory signed attributes.
	ContentType   asn1.ObjectIdentifier
	MessageDigest []byte
	SigningTime   time.Time // zero when absent
}

// SignedData is a parsed ContentInfo holding SignedData (RFC 5652 §5.1).
type SignedData struct {
	Version          int
	DigestAlgorithms []asn1.ObjectIdentifier
	ContentType      asn1.ObjectIdentifier // eContentType
	Content          []byte                // eContent OCTET STRING value
	Certificates     []*x509.Certificate
	CRLs             [][]byte // raw RevocationInfoChoice elements, if any
	Signers          []SignerInfo
}

func hashFor(oid asn1.ObjectIdentifier) (crypto.Hash, error) {
	switch {
	case oid.Equal(OIDSHA256):
		return crypto.SHA256, nil
	case oid.Equal(OIDSHA384):
		return crypto.SHA384, nil
	case oid.Equal(OIDSHA512):
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("%w: digest %v", ErrUnsupported, oid)
}

func digestOID(h crypto.Hash) (asn1.ObjectIdentifier, error) {
	switch h {
	case crypto.SHA256:
		return OIDSHA256, nil
	case crypto.SHA384:
		return OIDSHA384, nil
	case crypto.SHA512:
		return OIDSHA512, nil
	}
	return nil, fmt.Errorf("%w: hash %v", ErrUnsupported, h)
}

// pssParams is RSASSA-PSS-params (RFC 4055 §3.1) with explicit hash and MGF1.
type pssParams struct {
	Hash         algID `asn1:"explicit,tag:0"`
	MGF          mgf   `asn1:"explicit,tag:1"`
	SaltLength   int   `asn1:"explicit,tag:2,optional,default:20"`
	TrailerField int   `asn1:"explicit,tag:3,optional,default:1"`
}

type algID struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type mgf struct {
	Algorithm asn1.ObjectIdentifier
	Hash      algID
}

var asn1Null = asn1.RawValue{Tag: asn1.TagNull}

func marshalPSSParams(h crypto.Hash) ([]byte, error) {
	oid, err := digestOID(h)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(pssParams{
		Hash:         algID{Algorithm: oid, Parameters: asn1Null},
		MGF:          mgf{Algorithm: OIDMGF1, Hash: algID{Algorithm: oid, Parameters: asn1Null}},
		SaltLength:   h.Size(),
		TrailerField: 1,
	})
}

func parsePSSParams(b []byte) (crypto.Hash, int, error) {
	var p pssParams
	rest, err := asn1.Unmarshal(b, &p)
	if err != nil || len(rest) != 0 {
		return 0, 0, fmt.Errorf("%w: RSASSA-PSS parameters", ErrMalformed)
	}
	h, err := hashFor(p.Hash.Algorithm)
	if err != nil {
		return 0, 0, err
	}
	if !p.MGF.Algorithm.Equal(OIDMGF1) || !p.MGF.Hash.Algorithm.Equal(p.Hash.Algorithm) {
		return 0, 0, fmt.Errorf("%w: PSS mask generation must be MGF1 with the same hash", ErrUnsupported)
	}
	if p.TrailerField != 1 || p.SaltLength < 0 || p.SaltLength > 512 {
		return 0, 0, fmt.Errorf("%w: PSS trailer/salt", ErrUnsupported)
	}
	return h, p.SaltLength, nil
}
