package vchip

import (
	"errors"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/chipauth"
	"github.com/cccd-project/cccd/smartcard/pace"
	"github.com/cccd-project/cccd/smartcard/securityinfo"
	"github.com/cccd-project/cccd/smartcard/sm"
	"github.com/cccd-project/cccd/smartcard/tlv"
)

// DefaultPACE is the PACE protocol a chip runs when its EF.CardAccess names none: ECDH
// generic mapping, AES-128, brainpoolP256r1 (domain parameter 13), as on issued cards.
var DefaultPACE = securityinfo.PACEInfo{
	Protocol: securityinfo.OIDPACEECDHGMAES128, Version: 2,
	ParameterID: securityinfo.ParamBrainpoolP256r1, HasParameterID: true,
}

// DefaultCA is the Chip Authentication protocol a chip runs when its DG14 names none.
var DefaultCA = securityinfo.OIDCAECDHAES128

// paceRun is a PACE run in progress.
type paceRun struct{ chip *pace.Chip }

// caRun is Chip Authentication selected by MSE:Set AT, waiting for GENERAL AUTHENTICATE.
type caRun struct {
	cipher  sm.Cipher
	keyBits int
}

// securityInfos parses the SecurityInfos held in an EF (EF.CardAccess, or DG14 inside 6E).
func securityInfos(f *file, wrapper tlv.Tag) securityinfo.SecurityInfos {
	if f == nil {
		return nil
	}
	tag, v, rest, err := tlv.Next(f.data)
	if err != nil {
		return nil
	}
	der := f.data[:len(f.data)-len(rest)]
	if wrapper != 0 {
		if tag != wrapper {
			return nil
		}
		der = v
	}
	infos, err := securityinfo.Parse(der)
	if err != nil {
		return nil
	}
	return infos
}

// paceInfo is the PACE protocol the chip offers: the first one of EF.CardAccess that
// package pace runs, else DefaultPACE.
func (c *Chip) paceInfo() securityinfo.PACEInfo {
	for _, p := range securityInfos(c.mf[FIDCardAccess], 0).PACE() {
		if _, _, err := pace.Suite(p.Protocol); err == nil && p.HasParameterID {
			return *p
		}
	}
	return DefaultPACE
}

// caProtocol is the chip's Chip Authentication protocol from DG14, else DefaultCA.
func (c *Chip) caProtocol() (sm.Cipher, int) {
	for _, p := range securityInfos(c.app[FIDDG1+13], 0x6E).ChipAuthentication() {
		if ci, bits, err := chipauth.Suite(p.Protocol); err == nil {
			return ci, bits
		}
	}
	ci, bits, _ := chipauth.Suite(DefaultCA)
	return ci, bits
}

// manageSecurityEnvironment implements MSE (ISO 7816-4 §11.5.11): Set AT for PACE
// (C1 A4, ICAO 9303-11 §4.4.4.1), Set AT for Chip Authentication (41 A4, §6.2.4.2) and
// Set KAT (41 A6, §6.2.4.1).
func (c *Chip) manageSecurityEnvironment(cmd apdu.Command, secure bool) apdu.Response {
	switch uint16(cmd.P1)<<8 | uint16(cmd.P2) {
	case 0xC1A4:
		c.auth = authState{}
		passwords := map[pace.PasswordKind][]byte{}
		if c.mrzKey != nil {
			passwords[pace.MRZ] = c.mrzKey
		}
		if c.can != "" {
			passwords[pace.CAN] = []byte(c.can)
		}
		if len(passwords) == 0 {
			return sw(apdu.SWRefDataNotFound)
		}
		chip, err := pace.NewChip(c.paceInfo(), passwords)
		if err != nil {
			return sw(apdu.SWConditionsNotSatisfied)
		}
		if err := chip.SetAT(cmd.Data); err != nil {
			return sw(pace.StatusWord(err))
		}
		c.auth.pace = &paceRun{chip: chip}
		return sw(apdu.SWOK)
	case 0x41A4:
		c.auth = authState{}
		if !secure {
			return sw(apdu.SWConditionsNotSatisfied)
		}
		protocol, _, err := chipauth.ParseSetAT(cmd.Data)
		if err != nil {
			return sw(apdu.SWWrongData)
		}
		ci, bits, err := chipauth.Suite(protocol)
		if err != nil {
			return sw(apdu.SWWrongData)
		}
		if c.caKey == nil {
			return sw(apdu.SWRefDataNotFound)
		}
		c.auth.ca = &caRun{cipher: ci, keyBits: bits}
		return sw(apdu.SWOK)
	case 0x41A6:
		c.auth = authState{}
		if !secure {
			return sw(apdu.SWConditionsNotSatisfied)
		}
		point, _, err := chipauth.ParseSetKAT(cmd.Data)
		if err != nil {
			return sw(apdu.SWWrongData)
		}
		ci, bits := c.caProtocol()
		return c.agree(point, ci, bits, apdu.Response{SW: apdu.SWOK})
	}
	return sw(apdu.SWIncorrectP1P2)
}

// agree completes Chip Authentication: the answer r goes out under the current session,
// the derived one protects every later command (ICAO 9303-11 §6.2.3).
func (c *Chip) agree(point []byte, ci sm.Cipher, bits int, r apdu.Response) apdu.Response {
	if c.caKey == nil {
		return sw(apdu.SWRefDataNotFound)
	}
	curve, _ := curveOf(c.caKey.curveOID)
	s, err := chipauth.Agree(c.caKey.d, curve, point, ci, bits)
	if err != nil {
		return sw(apdu.SWWrongData)
	}
	c.auth.next = s
	return r
}

// generalAuthenticate implements GENERAL AUTHENTICATE (ISO 7816-4 §11.5.5) for the PACE
// steps (ICAO 9303-11 §4.4.4.2) and for Chip Authentication after MSE:Set AT (§6.2.4.2).
// A wrong PACE password is answered 6300 after the slow-down.
func (c *Chip) generalAuthenticate(cmd apdu.Command, secure bool) apdu.Response {
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return sw(apdu.SWIncorrectP1P2)
	}
	switch {
	case c.auth.pace != nil:
		run := c.auth.pace
		resp, s, err := run.chip.GeneralAuthenticate(cmd.Data, c.rand)
		if err != nil {
			c.auth = authState{}
			if errors.Is(err, pace.ErrAuthentication) {
				c.penalize()
			}
			return sw(pace.StatusWord(err))
		}
		if s == nil {
			return apdu.Response{Data: resp, SW: apdu.SWOK}
		}
		c.auth = authState{}
		c.failures = 0
		return c.establish(s, apdu.Response{Data: resp, SW: apdu.SWOK}, secure)
	case c.auth.ca != nil:
		run := c.auth.ca
		c.auth = authState{}
		if !secure {
			return sw(apdu.SWConditionsNotSatisfied)
		}
		point, err := chipauth.ParseGeneralAuthenticate(cmd.Data)
		if err != nil {
			return sw(apdu.SWWrongData)
		}
		return c.agree(point, run.cipher, run.keyBits, apdu.Response{Data: chipauth.GeneralAuthenticateResponse(), SW: apdu.SWOK})
	}
	return sw(apdu.SWConditionsNotSatisfied)
}
