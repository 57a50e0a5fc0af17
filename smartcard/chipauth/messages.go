package chipauth

import (
	"bytes"
	"encoding/asn1"
	"fmt"

	"github.com/cccd-project/cccd/smartcard/tlv"
)

// maxKeyIDBytes bounds the key reference: ICAO 9303-11 keyIds are small integers.
const maxKeyIDBytes = 4

// encodeKeyID encodes a key reference as the shortest big-endian unsigned integer.
func encodeKeyID(id int) []byte {
	var b []byte
	for v := uint32(id); ; v >>= 8 {
		b = append([]byte{byte(v)}, b...)
		if v < 0x100 {
			return b
		}
	}
}

// decodeKeyID decodes the value of tag 84.
func decodeKeyID(v []byte) (int, error) {
	if len(v) == 0 || len(v) > maxKeyIDBytes {
		return 0, fmt.Errorf("%w: key id of %d bytes", ErrMalformed, len(v))
	}
	id := 0
	for _, c := range v {
		id = id<<8 | int(c)
	}
	if id < 0 {
		return 0, fmt.Errorf("%w: key id out of range", ErrMalformed)
	}
	return id, nil
}

// setKATData is the data field of MSE:Set KAT: 91 ephemeral point, 84 key id when keyID >= 0
// (ICAO 9303-11 §6.2).
func setKATData(point []byte, keyID int) []byte {
	b := tlv.Encode(tagEphemeral, point)
	if keyID >= 0 {
		b = append(b, tlv.Encode(tagKeyID, encodeKeyID(keyID))...)
	}
	return b
}

// setATData is the data field of MSE:Set AT for Chip Authentication: 80 OID content, 84 key
// id when keyID >= 0 (ICAO 9303-11 §6.2).
func setATData(protocol asn1.ObjectIdentifier, keyID int) ([]byte, error) {
	der, err := asn1.Marshal(protocol)
	if err != nil || len(der) < 2 || der[1] >= 0x80 {
		return nil, fmt.Errorf("chipauth: encode oid %s: %v", protocol, err)
	}
	b := tlv.Encode(tagProtocol, der[2:])
	if keyID >= 0 {
		b = append(b, tlv.Encode(tagKeyID, encodeKeyID(keyID))...)
	}
	return b, nil
}

// gaData is the data field of GENERAL AUTHENTICATE for Chip Authentication: 7C { 80 point }.
func gaData(point []byte) []byte { return tlv.Encode(tagDAD, tlv.Encode(tagProtocol, point)) }

// GeneralAuthenticateResponse is the response data field a chip answers GENERAL
// AUTHENTICATE for Chip Authentication version 1 with: empty dynamic authentication data.
func GeneralAuthenticateResponse() []byte { return []byte{byte(tagDAD), 0x00} }

// fields splits command data into its top-level data objects, accepting only the given
// tags, each at most once.
func fields(what string, data []byte, allowed ...tlv.Tag) (map[tlv.Tag][]byte, error) {
	out := map[tlv.Tag][]byte{}
	for rest := data; len(rest) > 0; {
		tag, v, r, err := tlv.Next(rest)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, what, err)
		}
		rest = r
		known := false
		for _, a := range allowed {
			known = known || a == tag
		}
		if !known {
			return nil, fmt.Errorf("%w: %s: unexpected tag %s", ErrMalformed, what, tag)
		}
		if _, dup := out[tag]; dup {
			return nil, fmt.Errorf("%w: %s: tag %s repeated", ErrMalformed, what, tag)
		}
		out[tag] = bytes.Clone(v)
	}
	return out, nil
}

// ParseSetKAT decodes the data field of MSE:Set KAT (00 22 41 A6, ICAO 9303-11 §6.2)
// on the chip side: the terminal's ephemeral public key (tag 91, required, returned as
// received; Agree checks it) and the key id (tag 84, -1 when absent).
func ParseSetKAT(data []byte) (point []byte, keyID int, err error) {
	f, err := fields("mse:set kat", data, tagEphemeral, tagKeyID)
	if err != nil {
		return nil, -1, err
	}
	point, ok := f[tagEphemeral]
	if !ok || len(point) == 0 {
		return nil, -1, fmt.Errorf("%w: mse:set kat: ephemeral public key (tag 91) missing", ErrMalformed)
	}
	keyID = -1
	if v, ok := f[tagKeyID]; ok {
		if keyID, err = decodeKeyID(v); err != nil {
			return nil, -1, err
		}
	}
	return point, keyID, nil
}

// ParseSetAT decodes the data field of MSE:Set AT for Chip Authentication (00 22 41 A4,
// ICAO 9303-11 §6.2) on the chip side: the protocol OID (tag 80, required) and the key
// id (tag 84, -1 when absent).
func ParseSetAT(data []byte) (protocol asn1.ObjectIdentifier, keyID int, err error) {
	f, err := fields("mse:set at", data, tagProtocol, tagKeyID)
	if err != nil {
		return nil, -1, err
	}
	content, ok := f[tagProtocol]
	if !ok || len(content) == 0 || len(content) > 127 {
		return nil, -1, fmt.Errorf("%w: mse:set at: protocol oid (tag 80) missing or too long", ErrMalformed)
	}
	der := append([]byte{0x06, byte(len(content))}, content...)
	rest, err := asn1.Unmarshal(der, &protocol)
	if err != nil || len(rest) != 0 {
		return nil, -1, fmt.Errorf("%w: mse:set at: protocol oid: %v", ErrMalformed, err)
	}
	keyID = -1
	if v, ok := f[tagKeyID]; ok {
		if keyID, err = decodeKeyID(v); err != nil {
			return nil, -1, err
		}
	}
	return protocol, keyID, nil
}

// ParseGeneralAuthenticate decodes the data field of GENERAL AUTHENTICATE for Chip
// Authentication (00 86 00 00, ICAO 9303-11 §6.2) on the chip side: 7C { 80 ephemeral
// public key }, returned as received (Agree checks it).
func ParseGeneralAuthenticate(data []byte) (point []byte, err error) {
	tag, v, rest, err := tlv.Next(data)
	if err != nil {
		return nil, fmt.Errorf("%w: general authenticate: %w", ErrMalformed, err)
	}
	if tag != tagDAD || len(rest) != 0 {
		return nil, fmt.Errorf("%w: general authenticate: want one 7C object, got tag %s and %d trailing bytes", ErrMalformed, tag, len(rest))
	}
	f, err := fields("general authenticate", v, tagProtocol)
	if err != nil {
		return nil, err
	}
	point, ok := f[tagProtocol]
	if !ok || len(point) == 0 {
		return nil, fmt.Errorf("%w: general authenticate: ephemeral public key (tag 80) missing", ErrMalformed)
	}
	return point, nil
}
