// Package masterlist encodes, signs, parses and verifies ICAO CSCA Master Lists (ICAO Doc
// 9303-12 §9): a CMS SignedData (package hsm/pki/cms) whose eContentType is
// id-icao-cscaMasterList and whose content is
//
//	CscaMasterList ::= SEQUENCE { version CscaMasterListVersion (v0), certList SET OF Certificate }
//
// signed by a Master List Signer (extended key usage id-icao-cscaMasterListSigningKey).
// It is pure; deciding whether the signer is trusted is the trust store's job.
package masterlist

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/cccd-project/cccd/hsm/pki/cms"
	"github.com/cccd-project/cccd/hsm/pki/ecparams"
)

// Object identifiers of ICAO 9303-12 §9 (and Appendix A).
var (
	OIDCSCAMasterList    = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 2}
	OIDMasterListSigning = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 3} // extended key usage
)

// Sentinel errors.
var (
	ErrMalformed     = errors.New("masterlist: malformed master list")
	ErrSignerProfile = errors.New("masterlist: signer is not a Master List Signer")
)

// MaxCertificates bounds the number of certificates Parse accepts.
const MaxCertificates = 10000

// MasterList is a parsed CSCA Master List.
type MasterList struct {
	Version      int
	Certificates []*x509.Certificate // the entries that parse
	Entries      []Entry             // every certList element, in order
	SignedData   *cms.SignedData
}

// Encode returns the DER CscaMasterList (version v0) holding certs, as a DER SET OF (sorted,
// duplicates removed).
func Encode(certs []*x509.Certificate) ([]byte, error) {
	raws := make([][]byte, 0, len(certs))
	for _, c := range certs {
		raws = append(raws, c.Raw)
	}
	slices.SortFunc(raws, bytes.Compare) // X.690 §11.6
	raws = slices.CompactFunc(raws, bytes.Equal)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(0)
		b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
			for _, r := range raws {
				b.AddBytes(r)
			}
		})
	})
	der, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("masterlist: encode: %w", err)
	}
	return der, nil
}

// Sign encodes certs as a CscaMasterList and signs it with the Master List Signer's key
// (signingTime is mandatory: ICAO 9303-12 §9.1).
func Sign(certs []*x509.Certificate, signer *x509.Certificate, key crypto.Signer, at time.Time) ([]byte, error) {
	if err := CheckSigner(signer); err != nil {
		return nil, err
	}
	content, err := Encode(certs)
	if err != nil {
		return nil, err
	}
	opts := &cms.SignOptions{SigningTime: at}
	// Hash strength follows the signer's key (NIST SP 800-57): SHA-384 for P-384, SHA-512 for P-521.
	if pub, ok := signer.PublicKey.(*ecdsa.PublicKey); ok {
		switch pub.Curve.Params().BitSize {
		case 384:
			opts.Hash = crypto.SHA384
		case 521:
			opts.Hash = crypto.SHA512
		}
	}
	der, err := cms.Sign(OIDCSCAMasterList, content, signer, key, opts)
	if err != nil {
		return nil, fmt.Errorf("masterlist: %w", err)
	}
	return der, nil
}

// Entry is one element of a master list's certList, parsed or not: a real list carries
// certificates of many States, and one that does not parse must not make the others unusable.
type Entry struct {
	Index int               // position in certList, from 0
	Raw   []byte            // the element's DER
	Cert  *x509.Certificate // nil when it does not parse
	Err   error             // why it does not parse
}

// ParseEntries decodes a DER CscaMasterList, parsing each certificate on its own (with
// ecparams.ParseCertificate, so explicit EC parameters are read): a certificate that does
// not parse is an Entry with Err, not an error of the list. The error is for the list's
// structure only.
func ParseEntries(der []byte) (version int, entries []Entry, err error) {
	in := cryptobyte.String(der)
	var seq, set cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() || !seq.ReadASN1Integer(&version) ||
		!seq.ReadASN1(&set, cbasn1.SET) || !seq.Empty() {
		return 0, nil, fmt.Errorf("%w: CscaMasterList structure", ErrMalformed)
	}
	if version != 0 {
		return 0, nil, fmt.Errorf("%w: version %d, want 0", ErrMalformed, version)
	}
	for !set.Empty() {
		if len(entries) == MaxCertificates {
			return 0, nil, fmt.Errorf("%w: more than %d certificates", ErrMalformed, MaxCertificates)
		}
		var c cryptobyte.String
		if !set.ReadASN1Element(&c, cbasn1.SEQUENCE) {
			return 0, nil, fmt.Errorf("%w: certList element %d is not a SEQUENCE", ErrMalformed, len(entries))
		}
		e := Entry{Index: len(entries), Raw: c}
		e.Cert, e.Err = ecparams.ParseCertificate(c)
		entries = append(entries, e)
	}
	return version, entries, nil
}

// ParseContent decodes a DER CscaMasterList; unlike ParseEntries it fails on the first
// certificate that does not parse.
func ParseContent(der []byte) (version int, certs []*x509.Certificate, err error) {
	version, entries, err := ParseEntries(der)
	if err != nil {
		return 0, nil, err
	}
	for _, e := range entries {
		if e.Err != nil {
			return 0, nil, fmt.Errorf("%w: certificate %d: %w", ErrMalformed, e.Index, e.Err)
		}
		certs = append(certs, e.Cert)
	}
	return version, certs, nil
}

// Parse decodes a DER master list: the CMS envelope (strict DER, see cms.Parse), the
// eContentType, and the CscaMasterList content (each certificate on its own, see
// ParseEntries). It does not verify the signature.
func Parse(der []byte) (*MasterList, error) {
	sd, err := cms.Parse(der)
	if err != nil {
		return nil, fmt.Errorf("masterlist: %w", err)
	}
	if !sd.ContentType.Equal(OIDCSCAMasterList) {
		return nil, fmt.Errorf("%w: eContentType %v is not id-icao-cscaMasterList", ErrMalformed, sd.ContentType)
	}
	v, entries, err := ParseEntries(sd.Content)
	if err != nil {
		return nil, err
	}
	ml := &MasterList{Version: v, Entries: entries, SignedData: sd}
	for _, e := range entries {
		if e.Cert != nil {
			ml.Certificates = append(ml.Certificates, e.Cert)
		}
	}
	return ml, nil
}

// Verify checks the CMS signature (cms.SignedData.Verify), that signingTime is present and
// that the signer has the Master List Signer profile. It returns the signer's certificate,
// which the caller must still chain to a trusted CSCA.
func (ml *MasterList) Verify() (*x509.Certificate, error) {
	signer, err := ml.SignedData.Verify()
	if err != nil {
		return nil, fmt.Errorf("masterlist: %w", err)
	}
	if ml.SignedData.Signers[0].SigningTime.IsZero() {
		return nil, fmt.Errorf("%w: signingTime attribute missing", ErrMalformed)
	}
	if err := CheckSigner(signer); err != nil {
		return nil, err
	}
	return signer, nil
}

// CheckSigner checks the Master List Signer profile (ICAO 9303-12 §7.1.1, table 6):
// keyUsage digitalSignature and extended key usage id-icao-cscaMasterListSigningKey.
func CheckSigner(c *x509.Certificate) error {
	if c.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return fmt.Errorf("%w: keyUsage lacks digitalSignature", ErrSignerProfile)
	}
	for _, u := range c.UnknownExtKeyUsage {
		if u.Equal(OIDMasterListSigning) {
			return nil
		}
	}
	return fmt.Errorf("%w: extended key usage lacks %v", ErrSignerProfile, OIDMasterListSigning)
}
