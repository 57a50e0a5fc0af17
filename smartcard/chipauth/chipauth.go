// Package chipauth implements Chip Authentication version 1 with ECDH (ICAO 9303-11 §6.2,
// BSI TR-03110-1) on the terminal side (Authenticate) and the chip side (Agree and
// the command parsers), in pure Go, for the curves securityinfo knows (brainpoolP256r1 and
// NIST P-256 among them) and the ciphers 3DES and AES-128/192/256.
//
// Chip Authentication runs over the secure messaging session that BAC or PACE set up. The
// terminal sends an ephemeral public key on the curve of the chip's static Chip
// Authentication key (from DG14); both sides compute K = x-coordinate of the ECDH shared
// point, derive KSEnc = KDF(K, 1) and KSMAC = KDF(K, 2) (§9.7) and restart secure messaging
// with SSC zero. The answer to the command that carried the ephemeral key still travels
// under the old session; every later command uses the new one.
//
// # Which command
//
// ICAO 9303-11 §6.2 offers two implementations:
//
//	MSE:Set KAT       00 22 41 A6  91 <ephemeral point> [84 <key id>]
//	MSE:Set AT + GA   00 22 41 A4  80 <CA OID> [84 <key id>]
//	                  00 86 00 00  7C { 80 <ephemeral point> }  -> 7C 00
//
// MSE:Set KAT came with the 3DES protocols; deployed readers (JMRTD and the readers built
// on it) send it only for id-CA-*-3DES-CBC-CBC and use MSE:Set AT + GENERAL AUTHENTICATE
// for the AES protocols, which is what AES chips such as the CCCD
// (CA-ECDH-AES-CBC-CMAC-128, version 1) are tested against. The default, MethodAuto, does
// the same: Chip Authentication version 1, MSE:Set KAT for 3DES, MSE:Set AT + GENERAL
// AUTHENTICATE for AES. Terminal.Method forces either command.
// ChipAuthenticationInfo version 1 and 2 are run the same way; the TR-03110 CA2 variant
// with a chip nonce and token in the GENERAL AUTHENTICATE response (after Terminal
// Authentication) is not implemented.
//
// # Chip side
//
// The chip (smartcard/vchip) holds its ChipAuthenticationInfo (protocol OID, key id) and the
// private key; c, bits := Suite(info.Protocol). Under its current secure messaging session:
//
//	MSE:Set KAT  00 22 41 A6: point, keyID, err := ParseSetKAT(data)
//	             s, err := Agree(priv, curve, point, c, bits)
//	             answer 9000 (no data) under the OLD session, then switch to s.
//	MSE:Set AT   00 22 41 A4: protocol, keyID, err := ParseSetAT(data)
//	             protocol must equal info.Protocol (else 6A80); remember it; answer 9000.
//	GENERAL AUTHENTICATE 00 86 00 00 (only after that MSE:Set AT, else 6985):
//	             point, err := ParseGeneralAuthenticate(data); s, err := Agree(...)
//	             answer GeneralAuthenticateResponse() (7C 00) with 9000 under the OLD
//	             session, then switch to s.
//
// Parse errors wrap ErrMalformed and Agree errors ErrMalformed or ErrUnsupported: answer
// 6A80 and keep the old session. A key id (-1 when absent) other than the chip's: 6A88.
//
// # The clone check
//
// Nothing in the exchange itself proves that the chip holds the private key: a chip that
// does not derives other session keys, so the first command under the new session fails.
// Result.Channel wraps the new session so that this failure (a response MAC that does not
// verify, or the chip answering 6987/6988 in plain) is an error wrapping
// ErrChipAuthentication. Read a data group through it right away.
package chipauth

import (
	"crypto/elliptic"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/cccd-project/cccd/smartcard/securityinfo"
	"github.com/cccd-project/cccd/smartcard/sm"
	"github.com/cccd-project/cccd/smartcard/tlv"
)

// Sentinel errors.
var (
	// ErrChipAuthentication: the chip failed the first exchange under the new keys, so it
	// does not hold the Chip Authentication private key (a cloned or forged chip).
	ErrChipAuthentication = errors.New("chipauth: chip failed chip authentication (possible clone)")
	// ErrMalformed: command or response data that does not follow ICAO 9303-11 §6.2,
	// or a public point not on the curve.
	ErrMalformed = errors.New("chipauth: malformed data")
	// ErrUnsupported: a protocol, version or curve this package does not implement.
	ErrUnsupported = errors.New("chipauth: unsupported")
)

// PublicKey is the chip's static Chip Authentication public key, as
// securityinfo.ParseECPublicKey returns it from a ChipAuthenticationPublicKeyInfo.
type PublicKey struct {
	Curve elliptic.Curve
	X, Y  *big.Int
}

// PublicKeyFromInfo decodes the key of a ChipAuthenticationPublicKeyInfo from DG14
// (ICAO 9303-11 §9.2) and checks that it lies on its curve.
func PublicKeyFromInfo(info *securityinfo.ChipAuthenticationPublicKeyInfo) (PublicKey, error) {
	if info == nil {
		return PublicKey{}, fmt.Errorf("%w: no chip authentication public key info", ErrMalformed)
	}
	curve, x, y, err := info.ECPublicKey()
	if err != nil {
		return PublicKey{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	k := PublicKey{Curve: curve, X: x, Y: y}
	if err := validPublicKey(k); err != nil {
		return PublicKey{}, err
	}
	return k, nil
}

// Tags of the Chip Authentication commands (ICAO 9303-11 §6.2).
const (
	tagProtocol  tlv.Tag = 0x80 // MSE:Set AT: OID content; GA: ephemeral public key inside 7C
	tagKeyID     tlv.Tag = 0x84 // reference of the chip's private key
	tagEphemeral tlv.Tag = 0x91 // MSE:Set KAT: ephemeral public key
	tagDAD       tlv.Tag = 0x7C
)

// Suite returns the secure messaging cipher and key length (bits) of an ECDH Chip
// Authentication protocol: id-CA-ECDH-3DES-CBC-CBC and id-CA-ECDH-AES-CBC-CMAC-128/192/256
// (ICAO 9303-11 §9.2). The bare id-CA-ECDH, which a DG14 without ChipAuthenticationInfo
// implies, means 3DES.
func Suite(protocol asn1.ObjectIdentifier) (sm.Cipher, int, error) {
	switch {
	case protocol.Equal(securityinfo.OIDCAECDH), protocol.Equal(securityinfo.OIDCAECDH3DES):
		return sm.TDES, 112, nil
	case protocol.Equal(securityinfo.OIDCAECDHAES128):
		return sm.AES, 128, nil
	case protocol.Equal(securityinfo.OIDCAECDHAES192):
		return sm.AES, 192, nil
	case protocol.Equal(securityinfo.OIDCAECDHAES256):
		return sm.AES, 256, nil
	}
	return 0, 0, fmt.Errorf("%w: protocol %s (only ECDH chip authentication)", ErrUnsupported, protocol)
}

// Agree is the chip side of Chip Authentication (ICAO 9303-11 §6.2): from the chip's
// static private key priv (big-endian scalar, e.g. ecdsa.PrivateKey.D.Bytes()) on curve and
// the terminal's ephemeral public point (uncompressed, as ParseSetKAT or
// ParseGeneralAuthenticate return it) it derives the new session, SSC zero. The chip
// answers the carrying command under its old session and switches to the returned one for
// the next command.
func Agree(priv []byte, curve elliptic.Curve, terminalEphemeralPoint []byte, c sm.Cipher, keyBits int) (*sm.Session, error) {
	if curve == nil {
		return nil, fmt.Errorf("%w: no curve", ErrUnsupported)
	}
	k := new(big.Int).SetBytes(priv)
	if k.Sign() == 0 || k.Cmp(curve.Params().N) >= 0 {
		return nil, errors.New("chipauth: private key out of range")
	}
	x, y, err := unmarshalPoint(curve, terminalEphemeralPoint)
	if err != nil {
		return nil, err
	}
	secret, err := sharedSecret(curve, priv, x, y)
	if err != nil {
		return nil, err
	}
	return newSession(c, keyBits, secret)
}

// newSession derives KSEnc and KSMAC from the shared secret (ICAO 9303-11 §9.7) and starts
// secure messaging with SSC zero, then wipes the secret and the keys.
func newSession(c sm.Cipher, keyBits int, secret []byte) (*sm.Session, error) {
	defer clear(secret)
	enc := sm.KDF(secret, c, keyBits, sm.KDFEnc)
	mac := sm.KDF(secret, c, keyBits, sm.KDFMAC)
	defer clear(enc)
	defer clear(mac)
	if enc == nil || mac == nil {
		return nil, fmt.Errorf("%w: %s with %d-bit keys", ErrUnsupported, c, keyBits)
	}
	s, err := sm.NewSession(c, enc, mac, make([]byte, c.BlockSize()))
	if err != nil {
		return nil, fmt.Errorf("chipauth: start secure messaging: %w", err)
	}
	return s, nil
}

// fieldSize is the byte length of a coordinate on c.
func fieldSize(c elliptic.Curve) int { return (c.Params().BitSize + 7) / 8 }

// marshalPoint encodes an uncompressed point 04 || X || Y.
func marshalPoint(c elliptic.Curve, x, y *big.Int) []byte { return securityinfo.EncodePoint(c, x, y) }

// unmarshalPoint decodes a point from the other party and checks that it is on c
// (securityinfo.DecodePoint), as an error of this package.
func unmarshalPoint(c elliptic.Curve, b []byte) (x, y *big.Int, err error) {
	if x, y, err = securityinfo.DecodePoint(c, b); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return x, y, nil
}

// validPublicKey checks the chip's static key before it is used.
func validPublicKey(k PublicKey) error {
	if k.Curve == nil || k.X == nil || k.Y == nil {
		return fmt.Errorf("%w: incomplete chip public key", ErrMalformed)
	}
	p := k.Curve.Params().P
	if k.X.Sign() < 0 || k.Y.Sign() < 0 || k.X.Cmp(p) >= 0 || k.Y.Cmp(p) >= 0 || !k.Curve.IsOnCurve(k.X, k.Y) {
		return fmt.Errorf("%w: chip public key not on the curve", ErrMalformed)
	}
	return nil
}

// sharedSecret is the x-coordinate of sk * P, field-length encoded (ICAO 9303-11 §9.6).
func sharedSecret(c elliptic.Curve, sk []byte, px, py *big.Int) ([]byte, error) {
	x, y := c.ScalarMult(px, py, sk)
	if !c.IsOnCurve(x, y) {
		return nil, fmt.Errorf("%w: shared point is the point at infinity", ErrMalformed)
	}
	return x.FillBytes(make([]byte, fieldSize(c))), nil
}

// randomScalar draws a private key uniformly from [1, n-1], reading the byte length of n
// per try (so a deterministic reader holding a valid key yields exactly that key).
func randomScalar(c elliptic.Curve, rnd io.Reader) ([]byte, error) {
	n := c.Params().N
	b := make([]byte, (n.BitLen()+7)/8)
	excess := uint(len(b)*8 - n.BitLen())
	k := new(big.Int)
	for range 64 {
		if _, err := io.ReadFull(rnd, b); err != nil {
			return nil, fmt.Errorf("chipauth: read randomness: %w", err)
		}
		b[0] &= 0xFF >> excess
		k.SetBytes(b)
		if k.Sign() > 0 && k.Cmp(n) < 0 {
			return b, nil
		}
	}
	return nil, errors.New("chipauth: randomness source keeps giving out-of-range scalars")
}
