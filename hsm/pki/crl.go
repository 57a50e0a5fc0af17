package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// CRL timing rules of ICAO 9303-12 §7.1.4 (REFERENCE §6): a CSCA issues a CRL at least every
// 90 days, not more often than every 48 hours, and within 48 hours of a revocation. No delta
// CRLs.
const (
	CRLMaxInterval = 90 * 24 * time.Hour
	CRLMinInterval = 48 * time.Hour
)

// ErrCRLTooSoon is returned when a CRL would be issued less than CRLMinInterval after the
// previous one.
var ErrCRLTooSoon = errors.New("pki: CRL issued less than 48 hours after the previous one")

// Revoked is one revoked certificate of a CRL.
type Revoked struct {
	Serial *big.Int
	At     time.Time
	Reason int // RFC 5280 §5.3.1 CRLReason; 0 unspecified, 1 keyCompromise, 4 superseded, 5 cessationOfOperation
}

// CRLSchedule says, given when the previous CRL was issued (zero: never) and the earliest
// revocation not yet published (zero: none), the earliest time a CRL may be issued and the
// time by which the next one must be issued.
func CRLSchedule(last, pending time.Time) (earliest, deadline time.Time) {
	if last.IsZero() {
		return time.Time{}, pending
	}
	earliest = last.Add(CRLMinInterval)
	deadline = last.Add(CRLMaxInterval)
	if !pending.IsZero() {
		// Published at the later of the revocation and the 48-hour floor: still within
		// 48 hours of the revocation.
		p := pending
		if p.Before(earliest) {
			p = earliest
		}
		if p.Before(deadline) {
			deadline = p
		}
	}
	return earliest, deadline
}

// CRLOptions describes a CRL. Number must grow by one with each CRL of the CSCA.
type CRLOptions struct {
	Number     *big.Int
	ThisUpdate time.Time // default time.Now()
	Previous   time.Time // thisUpdate of the previous CRL (zero: first CRL); enforces the 48-hour floor
}

// CRL issues a full CRL (version 2, AKI, CRL number, nextUpdate = thisUpdate + 90 days)
// listing revoked, signed by the CSCA key (ICAO 9303-12 §7.1.4).
func CRL(csca *x509.Certificate, key crypto.Signer, revoked []Revoked, o CRLOptions) ([]byte, error) {
	if o.Number == nil || o.Number.Sign() <= 0 {
		return nil, fmt.Errorf("%w: CRL number must be positive", ErrProfile)
	}
	if o.ThisUpdate.IsZero() {
		o.ThisUpdate = time.Now()
	}
	o.ThisUpdate = o.ThisUpdate.UTC().Truncate(time.Second)
	if !o.Previous.IsZero() && o.ThisUpdate.Sub(o.Previous) < CRLMinInterval {
		return nil, fmt.Errorf("%w: previous %s, next allowed %s", ErrCRLTooSoon,
			o.Previous.UTC().Format(time.RFC3339), o.Previous.Add(CRLMinInterval).UTC().Format(time.RFC3339))
	}
	entries := make([]x509.RevocationListEntry, 0, len(revoked))
	for _, r := range revoked {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: r.Serial, RevocationTime: r.At.UTC(), ReasonCode: r.Reason})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    o.Number,
		ThisUpdate:                o.ThisUpdate,
		NextUpdate:                o.ThisUpdate.Add(CRLMaxInterval),
		RevokedCertificateEntries: entries,
	}, csca, key)
	if err != nil {
		return nil, fmt.Errorf("pki: sign CRL: %w", err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("pki: parse issued CRL: %w", err)
	}
	if err := crl.CheckSignatureFrom(csca); err != nil {
		return nil, fmt.Errorf("pki: issued CRL does not verify: %w", err)
	}
	return der, nil
}
