// Package passive performs Passive Authentication of the chip's data (ICAO Doc 9303-11 §5.1):
// it checks EF.SOD's signature with the Document Signer certificate it embeds, has a trust
// store decide whether that Document Signer chains to a trusted CSCA, is valid and is not
// revoked, and compares the hash of every data group read from the chip with the hash the
// Document Signer signed.
//
// The package is pure: it takes the bytes already read from a chip and a TrustStore, and does
// no I/O. It holds no private keys.
package passive

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/cccd-project/cccd/hsm/pki/trust"
	"github.com/cccd-project/cccd/personalization/lds"
	"github.com/cccd-project/cccd/personalization/sod"
)

// TrustStore decides whether a Document Signer certificate may be trusted (ICAO 9303-11
// §5.1.1 step 3, 9303-12 §6). *trust.Store implements it.
type TrustStore interface {
	// VerifySigner returns the CSCA certificate that issued ds if ds chains to a trusted
	// CSCA, both are valid at 'at' and ds is not revoked. Its errors wrap ErrUnknownSigner,
	// ErrRevoked or ErrExpired.
	VerifySigner(ds *x509.Certificate, at time.Time) (*x509.Certificate, error)
}

// Sentinel errors callers branch on. The three trust outcomes are those of package
// hsm/pki/trust, so errors from a *trust.Store match them directly.
var (
	ErrSOD           = errors.New("passive: EF.SOD is malformed")
	ErrSignature     = errors.New("passive: EF.SOD signature does not verify")
	ErrUnknownSigner = trust.ErrUnknownSigner // Document Signer does not chain to a trusted CSCA
	ErrRevoked       = trust.ErrRevoked       // Document Signer (or CSCA) revoked
	ErrExpired       = trust.ErrExpired       // Document Signer or CSCA not valid at the given time
	ErrSignerProfile = errors.New("passive: certificate is not a Document Signer for this document")
	ErrDataGroupHash = errors.New("passive: data group hash does not match EF.SOD")
	ErrNotInSOD      = errors.New("passive: data group has no hash in EF.SOD")
)

// Status is the outcome for one data group.
type Status int

// Status values.
const (
	// Valid: read from the chip, listed in EF.SOD, and its hash matches.
	Valid Status = iota + 1
	// HashMismatch: read from the chip but its hash differs from EF.SOD's.
	HashMismatch
	// NotInSOD: read from the chip but EF.SOD lists no hash for it; it must not be trusted.
	NotInSOD
	// NotRead: listed in EF.SOD but not read, e.g. DG3 behind Extended Access Control.
	// This is not an error.
	NotRead
)

func (s Status) String() string {
	switch s {
	case Valid:
		return "valid"
	case HashMismatch:
		return "hash mismatch"
	case NotInSOD:
		return "not in EF.SOD"
	case NotRead:
		return "not read"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// DataGroupStatus is the outcome for one data group.
type DataGroupStatus struct {
	Number int
	Status Status
}

// Result describes a Passive Authentication. Fields are filled as far as the checks got.
type Result struct {
	DocumentSigner *x509.Certificate // embedded in EF.SOD; nil if EF.SOD did not parse
	CSCA           *x509.Certificate // the trusted CSCA; nil unless the trust store accepted the signer
	DSSubject      string            // DocumentSigner's subject, RFC 2253 form
	CSCASubject    string            // CSCA's subject, RFC 2253 form
	SigningTime    time.Time         // signingTime signed attribute, zero if absent
	DataGroups     []DataGroupStatus // every data group read or listed, in ascending order
}

// DataGroupError names the data group that failed. errors.Is matches ErrDataGroupHash for a
// mismatch and ErrNotInSOD for a data group without a hash.
type DataGroupError struct {
	Number int
	Status Status // HashMismatch or NotInSOD
}

func (e *DataGroupError) Error() string {
	if e.Status == NotInSOD {
		return fmt.Sprintf("passive: dg%d has no hash in EF.SOD", e.Number)
	}
	return fmt.Sprintf("passive: dg%d hash does not match EF.SOD", e.Number)
}

// Is reports whether target is the sentinel of e's status.
func (e *DataGroupError) Is(target error) bool {
	return target == ErrDataGroupHash && e.Status == HashMismatch || target == ErrNotInSOD && e.Status == NotInSOD
}

// Verify performs Passive Authentication (ICAO 9303-11 §5.1) of the data groups dgs
// (number -> file bytes as read from the chip) against EF.SOD, with store deciding on the
// Document Signer at time 'at' (normally now):
//
//  1. EF.SOD must parse (ErrSOD);
//  2. its CMS signature must verify with the embedded Document Signer certificate (ErrSignature);
//  3. the Document Signer must chain to a trusted CSCA, be valid at 'at' and not be revoked
//     (ErrUnknownSigner, ErrExpired, ErrRevoked), and have the Document Signer profile:
//     keyUsage digitalSignature and, when it carries a DocumentTypeList, the document code
//     of DG1 in that list (ErrSignerProfile; ICAO 9303-12 §7.1.1.3);
//  4. every data group read must have a hash in EF.SOD (a *DataGroupError matching ErrNotInSOD)
//     that matches (a *DataGroupError matching ErrDataGroupHash).
//
// Data groups listed in EF.SOD but not read are reported as NotRead, not as errors. The
// Result is returned whenever EF.SOD parsed, also with an error, and holds the status of
// every data group; the error is that of the first failing step, and for step 4 joins one
// *DataGroupError per failing data group.
func Verify(efSOD []byte, dgs map[int][]byte, store TrustStore, at time.Time) (*Result, error) {
	s, err := sod.Parse(efSOD)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSOD, err)
	}
	r := &Result{DocumentSigner: s.DocumentSigner()}
	if r.DocumentSigner != nil {
		r.DSSubject = r.DocumentSigner.Subject.String()
	}
	if len(s.SignedData.Signers) == 1 {
		r.SigningTime = s.SignedData.Signers[0].SigningTime
	}
	hashErr := r.checkHashes(&s.LDSSecurityObject, dgs)

	ds, err := s.Verify()
	if err != nil {
		return r, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	r.DocumentSigner, r.DSSubject = ds, ds.Subject.String()
	csca, err := store.VerifySigner(ds, at)
	if err != nil {
		return r, fmt.Errorf("passive: document signer %s: %w", r.DSSubject, err)
	}
	r.CSCA, r.CSCASubject = csca, csca.Subject.String()
	if err := checkProfile(ds, dgs[1]); err != nil {
		return r, err
	}
	return r, hashErr
}

// oidDocumentTypeList is id-icao-mrtd-security-extensions-documentTypeList (ICAO 9303-12 §7.1.1.3).
var oidDocumentTypeList = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 6, 2}

// checkProfile checks the Document Signer profile (ICAO 9303-12 §7.1.1): keyUsage
// digitalSignature, and the MRZ document code of dg1 (when read and well-formed) among the
// types of the DocumentTypeList extension (when present).
func checkProfile(ds *x509.Certificate, dg1 []byte) error {
	if ds.KeyUsage&x509.KeyUsageDigitalSignature == 0 || ds.IsCA {
		return fmt.Errorf("%w: %s lacks keyUsage digitalSignature or is a CA", ErrSignerProfile, ds.Subject)
	}
	var types []string
	found := false
	for _, e := range ds.Extensions {
		if !e.Id.Equal(oidDocumentTypeList) {
			continue
		}
		found = true
		var list struct {
			Version int
			Types   []string `asn1:"set"`
		}
		if rest, err := asn1.Unmarshal(e.Value, &list); err != nil || len(rest) != 0 || list.Version != 0 {
			return fmt.Errorf("%w: %s has a malformed DocumentTypeList", ErrSignerProfile, ds.Subject)
		}
		types = list.Types
	}
	if !found || dg1 == nil {
		return nil
	}
	d, err := lds.ParseDocumentDG1(dg1) // a CCCD's TD1, or another State's TD1 or TD3
	if err != nil {
		return nil // a broken DG1 fails its hash check or its own parser, not this one
	}
	code := d.DocumentCode
	if !slices.Contains(types, code) {
		return fmt.Errorf("%w: %s may sign %v, not %q", ErrSignerProfile, ds.Subject, types, code)
	}
	return nil
}

// checkHashes fills r.DataGroups and returns the joined *DataGroupErrors, or nil.
func (r *Result) checkHashes(so *sod.LDSSecurityObject, dgs map[int][]byte) error {
	numbers := slices.Collect(maps.Keys(dgs))
	for _, d := range so.DataGroupHashes {
		if _, read := dgs[d.Number]; !read {
			numbers = append(numbers, d.Number)
		}
	}
	slices.Sort(numbers)
	var errs []error
	for _, n := range numbers {
		b, read := dgs[n]
		st := Valid
		switch _, listed := so.HashOf(n); {
		case !read:
			st = NotRead
		case !listed:
			st = NotInSOD
		default:
			if ok, err := so.Matches(n, b); err != nil || !ok {
				st = HashMismatch
			}
		}
		r.DataGroups = append(r.DataGroups, DataGroupStatus{Number: n, Status: st})
		if st == HashMismatch || st == NotInSOD {
			errs = append(errs, &DataGroupError{Number: n, Status: st})
		}
	}
	return errors.Join(errs...)
}

// Status returns the status of data group n, or 0 if n was neither read nor listed.
func (r *Result) Status(n int) Status {
	for _, d := range r.DataGroups {
		if d.Number == n {
			return d.Status
		}
	}
	return 0
}
