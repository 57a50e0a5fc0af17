package emrtd

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/bac"
	"github.com/cccd-project/cccd/smartcard/sm"
)

// rnd returns the read's random source.
func (r *reader) rnd() io.Reader {
	if r.opts.Rand != nil {
		return r.opts.Rand
	}
	return rand.Reader
}

// openChip does access control (ICAO 9303-11 §4.2): EF.CardAccess in the clear, then
// PACE when the chip offers it (CAN if given, else MRZ), then BAC when the chip has no
// PACE or PACE failed for a reason other than a wrong password. It leaves r.ch set to a
// secure messaging channel with the eMRTD application selected.
func (r *reader) openChip(ctx context.Context) error {
	if err := r.step("select MF", func() error {
		_, err := apdu.Run(ctx, r.raw, apdu.Command{INS: 0xA4, P2: 0x0C, Data: []byte{0x3F, 0x00}})
		var se apdu.StatusError
		if errors.As(err, &se) {
			return nil // some CCCD chips answer 6D00; the MF is current after reset anyway
		}
		return err
	}); err != nil {
		return err
	}
	if err := r.step("read EF.CardAccess", func() error {
		b, err := readFile(ctx, r.raw, 0x1C, r.chunk)
		if isStatus(err, apdu.SWFileNotFound) || isStatus(err, apdu.SWSecurityNotSatisfied) {
			return nil
		}
		r.doc.CardAccess = b
		return err
	}); err != nil {
		return err
	}
	var paceErr error
	if !r.opts.NoPACE && r.doc.CardAccess != nil {
		done, err := r.tryPACE(ctx)
		if done || err != nil {
			return err
		}
		paceErr = r.lastErr
	}
	if !r.creds.hasMRZ() {
		if paceErr != nil {
			return &StepError{Step: "PACE", Err: paceErr}
		}
		return &StepError{Step: "BAC", Err: fmt.Errorf("%w: the chip offers only BAC, which needs the MRZ data", ErrNoCredentials)}
	}
	if err := r.step("select application", func() error { return selectApplication(ctx, r.raw) }); err != nil {
		return err
	}
	return r.step("BAC", func() error {
		seed, err := bac.KeySeed(r.creds.DocumentNumber, r.creds.DateOfBirth, r.creds.DateOfExpiry)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrNoCredentials, err)
		}
		s, err := bac.Authenticate(ctx, r.raw, seed, r.rnd())
		if errors.Is(err, bac.ErrRejected) {
			return fmt.Errorf("%w: %w", ErrAccessDenied, err)
		}
		if err != nil {
			return err
		}
		r.ch = sm.NewChannel(r.raw, s)
		r.doc.Access = AccessBAC
		return nil
	})
}
