// Package apdu encodes command APDUs and decodes response APDUs (ISO/IEC 7816-4 §5),
// in short and extended length, and turns status words into typed errors.
package apdu

import (
	"errors"
	"fmt"
)

// Maximum lengths of the data field (ISO/IEC 7816-4 §5.1).
const (
	MaxShortData    = 255
	MaxExtendedData = 65535
	// MaxShortLe is the Le that asks for "up to 256 bytes" in short form (encoded 00).
	MaxShortLe = 256
	// MaxExtendedLe is the Le that asks for "up to 65536 bytes" in extended form (encoded 0000).
	MaxExtendedLe = 65536
)

// Command is a command APDU. Ne is the number of response bytes expected (0 = no Le field).
// Whether it is encoded in short or extended form is decided by Bytes from the lengths,
// unless Extended forces extended form.
type Command struct {
	CLA, INS, P1, P2 byte
	Data             []byte
	Ne               int
	Extended         bool
}

// IsExtended reports whether the command needs (or asks for) extended length encoding.
func (c Command) IsExtended() bool {
	return c.Extended || len(c.Data) > MaxShortData || c.Ne > MaxShortLe
}

// Bytes encodes the command in the four cases of ISO/IEC 7816-4 §5.1.
func (c Command) Bytes() ([]byte, error) {
	if len(c.Data) > MaxExtendedData {
		return nil, fmt.Errorf("apdu: data field of %d bytes exceeds %d", len(c.Data), MaxExtendedData)
	}
	if c.Ne < 0 || c.Ne > MaxExtendedLe {
		return nil, fmt.Errorf("apdu: Ne %d out of range 0..%d", c.Ne, MaxExtendedLe)
	}
	b := make([]byte, 4, 4+3+len(c.Data)+3)
	b[0], b[1], b[2], b[3] = c.CLA, c.INS, c.P1, c.P2
	ext := c.IsExtended()
	if len(c.Data) > 0 {
		if ext {
			b = append(b, 0, byte(len(c.Data)>>8), byte(len(c.Data)))
		} else {
			b = append(b, byte(len(c.Data)))
		}
		b = append(b, c.Data...)
	}
	if c.Ne > 0 {
		switch {
		case !ext:
			b = append(b, byte(c.Ne)) // 256 encodes as 00
		case len(c.Data) > 0:
			b = append(b, byte(c.Ne>>8), byte(c.Ne)) // 65536 encodes as 0000
		default:
			b = append(b, 0, byte(c.Ne>>8), byte(c.Ne))
		}
	}
	return b, nil
}

// ErrMalformed is wrapped by every error ParseCommand and ParseResponse return for bytes
// that are not a well-formed APDU.
var ErrMalformed = errors.New("apdu: malformed")

// ParseCommand decodes a command APDU (the card side of Bytes).
func ParseCommand(b []byte) (Command, error) {
	if len(b) < 4 {
		return Command{}, fmt.Errorf("%w: command of %d bytes, need at least 4", ErrMalformed, len(b))
	}
	c := Command{CLA: b[0], INS: b[1], P1: b[2], P2: b[3]}
	body := b[4:]
	switch {
	case len(body) == 0: // case 1
		return c, nil
	case len(body) == 1: // case 2 short
		c.Ne = int(body[0])
		if c.Ne == 0 {
			c.Ne = MaxShortLe
		}
		return c, nil
	case body[0] != 0: // case 3 or 4 short
		lc := int(body[0])
		switch len(body) {
		case 1 + lc:
		case 2 + lc:
			c.Ne = int(body[1+lc])
			if c.Ne == 0 {
				c.Ne = MaxShortLe
			}
		default:
			return Command{}, fmt.Errorf("%w: Lc %d does not match a body of %d bytes", ErrMalformed, lc, len(body))
		}
		c.Data = append([]byte(nil), body[1:1+lc]...)
		return c, nil
	}
	// Extended forms start with 00.
	c.Extended = true
	if len(body) == 3 { // case 2 extended
		c.Ne = int(body[1])<<8 | int(body[2])
		if c.Ne == 0 {
			c.Ne = MaxExtendedLe
		}
		return c, nil
	}
	if len(body) < 3 {
		return Command{}, fmt.Errorf("%w: truncated extended length", ErrMalformed)
	}
	lc := int(body[1])<<8 | int(body[2])
	if lc == 0 {
		return Command{}, fmt.Errorf("%w: extended Lc of zero", ErrMalformed)
	}
	switch len(body) {
	case 3 + lc:
	case 5 + lc:
		c.Ne = int(body[3+lc])<<8 | int(body[4+lc])
		if c.Ne == 0 {
			c.Ne = MaxExtendedLe
		}
	default:
		return Command{}, fmt.Errorf("%w: extended Lc %d does not match a body of %d bytes", ErrMalformed, lc, len(body))
	}
	c.Data = append([]byte(nil), body[3:3+lc]...)
	return c, nil
}

// Response is a response APDU: the data field and the status word SW1SW2.
type Response struct {
	Data []byte
	SW   uint16
}

// ParseResponse splits raw response bytes into data and status word.
func ParseResponse(b []byte) (Response, error) {
	if len(b) < 2 {
		return Response{}, fmt.Errorf("%w: response of %d bytes, need at least 2", ErrMalformed, len(b))
	}
	n := len(b) - 2
	return Response{Data: append([]byte(nil), b[:n]...), SW: uint16(b[n])<<8 | uint16(b[n+1])}, nil
}

// Bytes encodes the response as data || SW1 || SW2.
func (r Response) Bytes() []byte {
	b := make([]byte, 0, len(r.Data)+2)
	b = append(b, r.Data...)
	return append(b, byte(r.SW>>8), byte(r.SW))
}

// OK reports whether the status word is 9000.
func (r Response) OK() bool { return r.SW == SWOK }

// Err returns nil for 9000 and a StatusError otherwise.
func (r Response) Err() error {
	if r.SW == SWOK {
		return nil
	}
	return StatusError{SW: r.SW}
}
