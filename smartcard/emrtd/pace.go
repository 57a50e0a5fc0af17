package emrtd

import (
	"context"
	"errors"
	"fmt"

	"github.com/cccd-project/cccd/smartcard/pace"
	"github.com/cccd-project/cccd/smartcard/securityinfo"
	"github.com/cccd-project/cccd/smartcard/sm"
)

// paceInfo picks the first PACE protocol of EF.CardAccess that package pace runs.
func paceInfo(cardAccess []byte) (securityinfo.PACEInfo, bool) {
	infos, err := securityinfo.Parse(cardAccess)
	if err != nil {
		return securityinfo.PACEInfo{}, false
	}
	for _, p := range infos.PACE() {
		if _, _, err := pace.Suite(p.Protocol); err == nil && p.HasParameterID {
			if _, err := pace.Curve(p.ParameterID); err == nil {
				return *p, true
			}
		}
	}
	return securityinfo.PACEInfo{}, false
}

// tryPACE runs PACE (ICAO 9303-11 §4.4) with the CAN if given, else the MRZ, then
// selects the application under secure messaging. done reports success; err is a
// failure that must not fall back to BAC (a wrong password, a card removed). Other
// failures (no usable PACEInfo, a protocol error) leave done false, err nil and the
// reason in r.lastErr.
func (r *reader) tryPACE(ctx context.Context) (done bool, err error) {
	info, ok := paceInfo(r.doc.CardAccess)
	if !ok {
		r.lastErr = fmt.Errorf("%w: EF.CardAccess offers no PACE protocol this reader runs", ErrNoCredentials)
		return false, nil
	}
	pw, access := pace.Password{Kind: pace.CAN, Value: []byte(r.creds.CAN)}, AccessPACECAN
	if r.creds.CAN == "" {
		mrz, err := pace.MRZInformation(r.creds.DocumentNumber, r.creds.DateOfBirth, r.creds.DateOfExpiry)
		if err != nil {
			return false, &StepError{Step: "PACE", Err: fmt.Errorf("%w: %w", ErrNoCredentials, err)}
		}
		pw, access = pace.Password{Kind: pace.MRZ, Value: mrz}, AccessPACEMRZ
	}
	var res *pace.Result
	perr := r.step("PACE", func() error {
		var err error
		res, err = pace.Authenticate(ctx, r.raw, info, pw, r.rnd())
		switch {
		case err == nil:
			return nil
		case errors.Is(err, pace.ErrAuthentication):
			return fmt.Errorf("%w: %w", ErrAccessDenied, err)
		case r.link.err != nil:
			return err
		}
		r.lastErr = err
		return nil
	})
	if perr != nil {
		return false, perr
	}
	if res == nil {
		r.doc.Steps[len(r.doc.Steps)-1].Name = "PACE (failed, falling back)"
		return false, nil
	}
	r.ch = sm.NewChannel(r.raw, res.Session)
	r.doc.Access = access
	return true, r.step("select application", func() error { return selectApplication(ctx, r.ch) })
}
