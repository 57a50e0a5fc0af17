package vchip

import (
	"errors"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/sm"
)

// session is the chip end of a secure messaging session (satisfied by *sm.Session).
type session interface {
	UnprotectCommand(apdu.Command) (apdu.Command, error)
	ProtectResponse(apdu.Response) (apdu.Response, error)
}

// processSecure unwraps a secure messaging command, runs it and protects the answer
// (ICAO 9303-11 §9.8). A wrong MAC or a malformed object ends the session and is
// answered in plain with 6988 (6987 for a missing object), §9.8.6.1.
func (c *Chip) processSecure(cmd apdu.Command, tear bool) apdu.Response {
	if c.sess == nil {
		return sw(0x6882) // secure messaging not supported (no session)
	}
	plain, err := c.sess.UnprotectCommand(cmd)
	if err != nil {
		c.sess = nil
		c.auth = authState{}
		if errors.Is(err, sm.ErrMissingDO) {
			return sw(apdu.SWSMDataMissing)
		}
		return sw(apdu.SWSMDataIncorrect)
	}
	s := c.sess
	r := c.dispatch(plain, true, tear)
	if c.sess != s {
		// The command ended the session (LOCK); answer in plain.
		return r
	}
	pr, err := s.ProtectResponse(r)
	if err != nil {
		c.sess = nil
		c.auth = authState{}
		return sw(apdu.SWUnknown)
	}
	if c.auth.next != nil {
		// Chip Authentication: the answer goes out under the old keys, every later
		// command uses the new ones (ICAO 9303-11 §6.2.2).
		c.sess, c.auth.next = c.auth.next, nil
	}
	return pr
}
