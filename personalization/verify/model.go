package verify

import (
	"errors"
	"fmt"
	"time"

	"github.com/cccd-project/cccd/hsm/pki"
	"github.com/cccd-project/cccd/personalization/lds"
	"github.com/cccd-project/cccd/personalization/passive"
	"github.com/cccd-project/cccd/personalization/sod"
	"github.com/cccd-project/cccd/smartcard/emrtd"
)

// Validation models of Passive Authentication (Report.ValidationModel).
//
// A card that expires is judged by the shell model: the Document Signer and its CSCA must be
// valid on the date judged. The signing profile makes that hold for the card's whole life
// (hsm/pki.Lifetime: DS validity = key usage + the longest card + its last day).
//
// A card that never expires (issued at 58 or later, Law 26/2023 art. 21) outlives any
// certificate, so it is judged by the chain (point-in-time) model: the Document Signer and
// its CSCA must have been valid when the card was signed (the signingTime the Document
// Signer signed in EF.SOD, within the DS's private key usage period), the card must have been
// signed before the date judged, and the Document Signer must not be revoked now.
const (
	ModelShell = "shell"
	ModelChain = "chain"
)

// chainTime returns the time the chain model judges the Document Signer at, for a card
// without expiry: the signingTime of EF.SOD. ok is false for a card that expires (or whose
// DG13 does not parse: the shell model, and the consistency checks, then say more).
func chainTime(doc *emrtd.Document) (at time.Time, ok bool, err error) {
	dg13, perr := lds.ParseDG13(doc.DataGroups[13])
	if perr != nil || dg13.ExpiryDate != lds.NoExpiry {
		return time.Time{}, false, nil
	}
	s, err := sod.Parse(doc.SOD)
	if err != nil {
		return time.Time{}, true, err
	}
	if len(s.SignedData.Signers) != 1 || s.SignedData.Signers[0].SigningTime.IsZero() {
		return time.Time{}, true, errors.New("EF.SOD carries no signingTime: the chain model cannot date the signature")
	}
	return s.SignedData.Signers[0].SigningTime, true, nil
}

// passiveAt runs Passive Authentication by the model the card calls for and records the
// model and its detail in the report. judged is the date the verification judges at.
func (v *verification) passiveAt(doc *emrtd.Document, judged time.Time) (*passive.Result, error) {
	signed, chain, err := chainTime(doc)
	if !chain {
		v.r.ValidationModel = ModelShell
		v.r.ModelDetail = "shell model: the Document Signer and the CSCA are valid on the date judged"
		return passive.Verify(doc.SOD, doc.DataGroups, v.opts.Trust, judged)
	}
	v.r.ValidationModel = ModelChain
	if err != nil {
		return nil, fmt.Errorf("%w: %v", passive.ErrSOD, err)
	}
	res, err := passive.Verify(doc.SOD, doc.DataGroups, v.opts.Trust, signed)
	if err != nil || res.DocumentSigner == nil {
		return res, err
	}
	if signed.After(judged) {
		return res, fmt.Errorf("%w: the card was signed on %s, after the date judged (%s)", passive.ErrExpired,
			signed.In(ict).Format(time.DateOnly), judged.In(ict).Format(time.DateOnly))
	}
	from, to, perr := pki.PrivateKeyUsagePeriod(res.DocumentSigner)
	if perr == nil && (signed.Before(from) || signed.After(to)) {
		return res, fmt.Errorf("%w: signed %s, outside the Document Signer's key usage period %s..%s", passive.ErrExpired,
			signed.Format(time.RFC3339), from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	v.r.ModelDetail = fmt.Sprintf("chain model (the card has no expiry): the Document Signer and the CSCA were valid when the card was signed on %s; no revocation as of now",
		signed.In(ict).Format(time.DateOnly))
	return res, nil
}

// ParseAt reads the date a verification judges at (`cccd verify --at`): a day YYYY-MM-DD,
// judged at its last second in Vietnam time (a card is valid through its expiry day), or an
// RFC 3339 time.
func ParseAt(s string) (time.Time, error) {
	if d, err := time.ParseInLocation(time.DateOnly, s, ict); err == nil {
		return d.AddDate(0, 0, 1).Add(-time.Second), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("verify: --at %q is neither a date YYYY-MM-DD nor an RFC 3339 time", s)
	}
	return t, nil
}
