package pace

import (
	"bytes"
	"fmt"

	"github.com/cccd-project/cccd/smartcard/tlv"
)

// Tags of MSE:Set AT for PACE (ICAO 9303-11 §4.4.4.1).
const (
	tagProtocol  tlv.Tag = 0x80 // cryptographic mechanism reference: the PACE OID content
	tagPassword  tlv.Tag = 0x83 // reference of a public key / secret key: the password kind
	tagParameter tlv.Tag = 0x84 // reference of a private key: the domain parameter ID
	tagCHAT      tlv.Tag = 0x7F4C
	tagAuxData   tlv.Tag = 0x67
)

// Tags of the dynamic authentication data of GENERAL AUTHENTICATE (ICAO 9303-11 §4.4.4.2).
const (
	tagDAD            tlv.Tag = 0x7C
	tagEncryptedNonce tlv.Tag = 0x80 // chip -> terminal, step 1
	tagMapTerminal    tlv.Tag = 0x81 // terminal -> chip, step 2
	tagMapChip        tlv.Tag = 0x82 // chip -> terminal, step 2
	tagKeyTerminal    tlv.Tag = 0x83 // terminal -> chip, step 3
	tagKeyChip        tlv.Tag = 0x84 // chip -> terminal, step 3
	tagTokenTerminal  tlv.Tag = 0x85 // terminal -> chip, step 4
	tagTokenChip      tlv.Tag = 0x86 // chip -> terminal, step 4
)

// setAT is the content of MSE:Set AT for PACE.
type setAT struct {
	protocol    []byte // OID content octets (tag 80)
	password    PasswordKind
	parameterID int // -1 when tag 84 is absent
}

// encode returns the command data: 80 OID, 83 password reference, and 84 parameter ID
// when parameterID >= 0 (ICAO 9303-11 §4.4.4.1).
func (s setAT) encode() []byte {
	b := tlv.Encode(tagProtocol, s.protocol)
	b = append(b, tlv.Encode(tagPassword, []byte{byte(s.password)})...)
	if s.parameterID >= 0 {
		b = append(b, tlv.Encode(tagParameter, []byte{byte(s.parameterID)})...)
	}
	return b
}

// ParseSetAT decodes the data field of MSE:Set AT for PACE (00 22 C1 A4, ICAO 9303-11
// §4.4.4.1) as the chip receives it: the protocol OID content (tag 80, required), the
// password reference (tag 83, required) and the domain parameter ID (tag 84, optional,
// -1 when absent). A CHAT (7F4C) or auxiliary data (67) for Terminal Authentication is
// accepted and ignored; any other or repeated tag is an error wrapping ErrMalformed.
func ParseSetAT(data []byte) (protocol []byte, password PasswordKind, parameterID int, err error) {
	s, err := parseSetAT(data)
	return s.protocol, s.password, s.parameterID, err
}

func parseSetAT(data []byte) (setAT, error) {
	s := setAT{parameterID: -1}
	seen := map[tlv.Tag]bool{}
	for rest := data; len(rest) > 0; {
		tag, v, r, err := tlv.Next(rest)
		if err != nil {
			return setAT{}, fmt.Errorf("%w: mse:set at: %w", ErrMalformed, err)
		}
		rest = r
		if seen[tag] {
			return setAT{}, fmt.Errorf("%w: mse:set at: tag %s repeated", ErrMalformed, tag)
		}
		seen[tag] = true
		switch tag {
		case tagProtocol:
			if len(v) == 0 {
				return setAT{}, fmt.Errorf("%w: mse:set at: empty protocol oid", ErrMalformed)
			}
			s.protocol = bytes.Clone(v)
		case tagPassword:
			if len(v) != 1 {
				return setAT{}, fmt.Errorf("%w: mse:set at: password reference of %d bytes, want 1", ErrMalformed, len(v))
			}
			s.password = PasswordKind(v[0])
		case tagParameter:
			if len(v) != 1 {
				return setAT{}, fmt.Errorf("%w: mse:set at: parameter id of %d bytes, want 1", ErrMalformed, len(v))
			}
			s.parameterID = int(v[0])
		case tagCHAT, tagAuxData:
		default:
			return setAT{}, fmt.Errorf("%w: mse:set at: unexpected tag %s", ErrMalformed, tag)
		}
	}
	if s.protocol == nil {
		return setAT{}, fmt.Errorf("%w: mse:set at: protocol oid (tag 80) missing", ErrMalformed)
	}
	if s.password == 0 {
		return setAT{}, fmt.Errorf("%w: mse:set at: password reference (tag 83) missing or zero", ErrMalformed)
	}
	return s, nil
}

// dad encodes dynamic authentication data 7C { tag value }, or the empty 7C 00 when tag
// is zero (ICAO 9303-11 §4.4.4.2).
func dad(tag tlv.Tag, value []byte) []byte {
	if tag == 0 {
		return []byte{byte(tagDAD), 0}
	}
	return tlv.Encode(tagDAD, tlv.Encode(tag, value))
}

// parseDAD decodes dynamic authentication data: exactly one 7C object, whose children are
// returned (none for 7C 00).
func parseDAD(data []byte) ([]tlv.Object, error) {
	o, err := tlv.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%w: dynamic authentication data: %w", ErrMalformed, err)
	}
	if o.Tag != tagDAD {
		return nil, fmt.Errorf("%w: dynamic authentication data has tag %s, want 7C", ErrMalformed, o.Tag)
	}
	return o.Children, nil
}

// findDAD returns the value of the data object tag inside dynamic authentication data.
func findDAD(data []byte, tag tlv.Tag) ([]byte, error) {
	children, err := parseDAD(data)
	if err != nil {
		return nil, err
	}
	for _, c := range children {
		if c.Tag == tag {
			return c.Value, nil
		}
	}
	return nil, fmt.Errorf("%w: dynamic authentication data lacks tag %s", ErrMalformed, tag)
}
