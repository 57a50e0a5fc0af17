// Package sod builds and reads EF.SOD, the Document Security Object of the eMRTD
// application (ICAO Doc 9303-10 §4.6.2): a CMS SignedData (package hsm/pki/cms) signed by a
// Document Signer over an LDSSecurityObject that lists a hash of every data group on the
// chip, wrapped in tag 77.
//
// The package is pure: it hashes, encodes, signs through a crypto.Signer and parses, and
// does no I/O. Judging the Document Signer certificate (chain to a CSCA, revocation,
// validity) and comparing hashes with data groups read from a chip is the job of package
// personalization/passive.
package sod

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"maps"
	"slices"

	_ "crypto/sha1" // SHA-1 LDSSecurityObjects from older issuers are parsed
	_ "crypto/sha256"
	_ "crypto/sha512"

	"github.com/cccd-project/cccd/hsm/pki/cms"
	"github.com/cccd-project/cccd/personalization/lds"
	"github.com/cccd-project/cccd/smartcard/tlv"
)

// OIDLDSSecurityObject is id-icao-mrtd-security-ldsSecurityObject (ICAO 9303-10 §4.6.2.3).
var OIDLDSSecurityObject = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 1}

// Sentinel errors.
var (
	// ErrMalformed is wrapped by every decoding error of EF.SOD or the LDSSecurityObject.
	ErrMalformed = errors.New("sod: malformed")
	// ErrInvalid is wrapped when data groups given to Sign or NewLDSSecurityObject cannot be signed.
	ErrInvalid = errors.New("sod: invalid data groups")
)

// SOD is a parsed EF.SOD.
type SOD struct {
	LDSSecurityObject                 // the signed content
	SignedData        *cms.SignedData // the CMS structure, for signature checks
	CMS               []byte          // the DER ContentInfo inside tag 77
}

// DocumentSigner returns the embedded certificate that the SignerInfo names (by issuer and
// serial number, or subject key identifier), or nil. It is not verified: call Verify.
func (s *SOD) DocumentSigner() *x509.Certificate {
	if len(s.SignedData.Signers) != 1 {
		return nil
	}
	si := s.SignedData.Signers[0]
	for _, c := range s.SignedData.Certificates {
		if si.SerialNumber != nil && bytes.Equal(c.RawIssuer, si.IssuerRaw) && c.SerialNumber.Cmp(si.SerialNumber) == 0 ||
			len(si.SubjectKeyID) > 0 && bytes.Equal(c.SubjectKeyId, si.SubjectKeyID) {
			return c
		}
	}
	return nil
}

// Verify checks the CMS signature with the embedded Document Signer certificate and returns
// that certificate (ICAO 9303-11 §5.1.1 steps 1-2). It does not judge the certificate itself.
func (s *SOD) Verify() (*x509.Certificate, error) {
	ds, err := s.SignedData.Verify()
	if err != nil {
		return nil, fmt.Errorf("sod: %w", err)
	}
	return ds, nil
}

// Sign builds EF.SOD for the data groups dgs (number -> file bytes as written on the chip):
// an LDSSecurityObject v0 with the SHA-256 hash of EVERY data group given, DG13 included,
// signed as CMS SignedData v3 by the Document Signer key through any crypto.Signer, in tag 77
// (ICAO 9303-10 §4.6.2). Each file must start with its data group's tag and at least two
// data groups are needed; cert must have the Document Signer profile's digitalSignature key
// usage (ICAO 9303-12 §7.1.1). The result is parsed again, its signature verified and every hash
// compared with dgs before it is returned, so a faulty signer never reaches a chip.
func Sign(dgs map[int][]byte, cert *x509.Certificate, key crypto.Signer) ([]byte, error) {
	if cert == nil || cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 || cert.IsCA {
		// ICAO 9303-12 §7.1.1 (Document Signer profile): digitalSignature, not a CA.
		return nil, errors.New("sod: the Document Signer certificate must have keyUsage digitalSignature and not be a CA")
	}
	so, err := NewLDSSecurityObject(dgs)
	if err != nil {
		return nil, err
	}
	content, err := so.Marshal()
	if err != nil {
		return nil, err
	}
	signed, err := cms.Sign(OIDLDSSecurityObject, content, cert, key, nil)
	if err != nil {
		return nil, fmt.Errorf("sod: %w", err)
	}
	ef := tlv.Encode(tlv.Tag(lds.TagSOD), signed)
	if err := selfCheck(ef, dgs, cert); err != nil {
		return nil, fmt.Errorf("sod: self-check of the signed EF.SOD: %w", err)
	}
	return ef, nil
}

// selfCheck re-reads a freshly signed EF.SOD as a verifier would.
func selfCheck(ef []byte, dgs map[int][]byte, cert *x509.Certificate) error {
	s, err := Parse(ef)
	if err != nil {
		return err
	}
	ds, err := s.Verify()
	if err != nil {
		return err
	}
	if !ds.Equal(cert) {
		return errors.New("embedded certificate is not the signer's")
	}
	if len(s.DataGroupHashes) != len(dgs) {
		return fmt.Errorf("%d hashes for %d data groups", len(s.DataGroupHashes), len(dgs))
	}
	for n, b := range dgs {
		ok, err := s.Matches(n, b)
		if err != nil || !ok {
			return fmt.Errorf("dg%d hash does not match", n)
		}
	}
	return nil
}

// Parse decodes EF.SOD: tag 77 around a CMS SignedData whose eContentType is
// id-icao-mrtd-security-ldsSecurityObject and whose content is a valid LDSSecurityObject.
// It does not verify the signature: call Verify.
func Parse(efSOD []byte) (*SOD, error) {
	tag, inner, rest, err := tlv.Next(efSOD)
	if err != nil {
		return nil, fmt.Errorf("%w: ef.sod: %w", ErrMalformed, err)
	}
	if tag != tlv.Tag(lds.TagSOD) || len(rest) != 0 {
		return nil, fmt.Errorf("%w: ef.sod must be one data object with tag 77", ErrMalformed)
	}
	sd, err := cms.Parse(inner)
	if err != nil {
		return nil, fmt.Errorf("%w: ef.sod: %w", ErrMalformed, err)
	}
	if !sd.ContentType.Equal(OIDLDSSecurityObject) {
		return nil, fmt.Errorf("%w: ef.sod: eContentType %v, want %v", ErrMalformed, sd.ContentType, OIDLDSSecurityObject)
	}
	so, err := ParseLDSSecurityObject(sd.Content)
	if err != nil {
		return nil, err
	}
	return &SOD{LDSSecurityObject: *so, SignedData: sd, CMS: bytes.Clone(inner)}, nil
}

// NewLDSSecurityObject returns the version 0 LDSSecurityObject with the SHA-256 hash of each
// data group in dgs, in ascending data group order (ICAO 9303-10 §4.6.2.3).
func NewLDSSecurityObject(dgs map[int][]byte) (*LDSSecurityObject, error) {
	if len(dgs) < 2 || len(dgs) > 16 {
		return nil, fmt.Errorf("%w: %d data groups, want 2 to 16", ErrInvalid, len(dgs))
	}
	so := &LDSSecurityObject{Version: 0, HashAlgorithm: crypto.SHA256}
	for _, n := range slices.Sorted(maps.Keys(dgs)) {
		f, err := lds.DataGroupFile(n)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		b := dgs[n]
		if len(b) == 0 || b[0] != f.Tag {
			return nil, fmt.Errorf("%w: dg%d does not start with its tag %02X", ErrInvalid, n, f.Tag)
		}
		h := crypto.SHA256.New()
		h.Write(b)
		so.DataGroupHashes = append(so.DataGroupHashes, DataGroupHash{Number: n, Hash: h.Sum(nil)})
	}
	return so, nil
}
