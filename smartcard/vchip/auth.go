package vchip

import (
	"errors"
	"io"

	"github.com/cccd-project/cccd/smartcard/activeauth"
	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/bac"
	"github.com/cccd-project/cccd/smartcard/securityinfo"
)

// authState is the volatile state of access control and chip authentication.
type authState struct {
	bac  *bac.Chip // BAC run with an outstanding challenge
	pace *paceRun  // PACE run in progress
	ca   *caRun    // Chip Authentication selected by MSE:Set AT
	next session   // session that replaces the current one after this answer
}

// getChallenge implements GET CHALLENGE (ISO 7816-4 §11.5.3, ICAO 9303-11 §4.3.4.1):
// RND.IC for BAC.
func (c *Chip) getChallenge(cmd apdu.Command) apdu.Response {
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return sw(apdu.SWIncorrectP1P2)
	}
	if cmd.Ne != bac.ChallengeSize {
		return sw(apdu.SWWrongLength)
	}
	c.auth.bac = nil
	if c.mrzKey == nil {
		rnd := make([]byte, bac.ChallengeSize)
		if _, err := io.ReadFull(c.rand, rnd); err != nil {
			return sw(apdu.SWUnknown)
		}
		return apdu.Response{Data: rnd, SW: apdu.SWOK}
	}
	chip, err := bac.NewChip(c.mrzKey[:bac.SeedSize]) // K_seed, ICAO 9303-11 §9.7.2
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	rnd, err := chip.GetChallenge(c.rand)
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	c.auth.bac = chip
	return apdu.Response{Data: rnd, SW: apdu.SWOK}
}

// externalAuthenticate implements EXTERNAL AUTHENTICATE of BAC (ICAO 9303-11 §4.3.4.2):
// it checks the terminal's cryptogram, answers the chip's and starts secure messaging.
// A wrong cryptogram is answered 6300 after the slow-down.
func (c *Chip) externalAuthenticate(cmd apdu.Command, secure bool) apdu.Response {
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return sw(apdu.SWIncorrectP1P2)
	}
	chip := c.auth.bac
	c.auth = authState{}
	if chip == nil {
		return sw(apdu.SWConditionsNotSatisfied) // no challenge outstanding
	}
	resp, s, err := chip.ExternalAuthenticate(cmd.Data, c.rand)
	if err != nil {
		if errors.Is(err, bac.ErrAuthentication) {
			c.penalize()
			return sw(0x6300)
		}
		return sw(apdu.SWConditionsNotSatisfied)
	}
	c.failures = 0
	return c.establish(s, apdu.Response{Data: resp, SW: apdu.SWOK}, secure)
}

// establish installs a new access control session. The answer that completes the
// protocol goes out as it would without it: in plain for a plain command; under the old
// session (which then ends) when the command came protected.
func (c *Chip) establish(s session, r apdu.Response, secure bool) apdu.Response {
	if secure {
		c.auth.next = s
		return r
	}
	c.sess = s
	return r
}

// internalAuthenticate implements INTERNAL AUTHENTICATE for Active Authentication
// (ICAO 9303-11 §6.1): the chip signs the terminal's 8-byte challenge with its AA key,
// hashing with the algorithm DG14's ActiveAuthenticationInfo names (SHA-256 without it).
// On a locked chip it needs secure messaging.
func (c *Chip) internalAuthenticate(cmd apdu.Command, secure bool) apdu.Response {
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return sw(apdu.SWIncorrectP1P2)
	}
	if c.locked && !secure {
		return sw(apdu.SWSecurityNotSatisfied)
	}
	if len(cmd.Data) != activeauth.ChallengeSize {
		return sw(apdu.SWWrongLength)
	}
	if c.aaKey == nil {
		return sw(apdu.SWRefDataNotFound)
	}
	h := activeauth.DefaultHash
	if info := securityInfos(c.app[FIDDG1+13], 0x6E).ActiveAuthentication(); info != nil {
		if ih, err := securityinfo.SignatureHash(info.SignatureAlgorithm); err == nil {
			h = ih
		}
	}
	sig, err := activeauth.Sign(c.aaKey, cmd.Data, h)
	if err != nil {
		return sw(apdu.SWUnknown)
	}
	return apdu.Response{Data: sig, SW: apdu.SWOK}
}
