package pace

import (
	"bytes"
	"crypto/cipher"
	"crypto/elliptic"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/cccd-project/cccd/smartcard/securityinfo"
	"github.com/cccd-project/cccd/smartcard/sm"
	"github.com/cccd-project/cccd/smartcard/tlv"
)

// Curve arithmetic goes through elliptic.Curve because crypto/ecdh has no point addition,
// which the generic mapping needs (G' = s*G + H). The Brainpool implementation is not
// constant time; see the package comment.

// fieldSize is the length in bytes of a field element (one coordinate) of c.
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

// maxScalarTries bounds rejection sampling so that a broken randomness source cannot hang.
const maxScalarTries = 64

// randomScalar draws a private key uniformly from [1, n-1] by rejection sampling: it reads
// exactly len(n) bytes per try, so a deterministic reader holding a valid key yields that
// key unchanged (the worked examples rely on this).
func randomScalar(c elliptic.Curve, rnd io.Reader) ([]byte, error) {
	n := c.Params().N
	b := make([]byte, (n.BitLen()+7)/8)
	excess := uint(len(b)*8 - n.BitLen())
	k := new(big.Int)
	for range maxScalarTries {
		if _, err := io.ReadFull(rnd, b); err != nil {
			return nil, fmt.Errorf("pace: read randomness: %w", err)
		}
		b[0] &= 0xFF >> excess
		k.SetBytes(b)
		if k.Sign() > 0 && k.Cmp(n) < 0 {
			return b, nil
		}
	}
	return nil, errors.New("pace: randomness source keeps giving out-of-range scalars")
}

// mapGenerator is the ECDH generic mapping (ICAO 9303-11 §4.4.3.3.1): H is the shared point
// of the mapping key agreement and G' = s*G + H. It fails if G' is the point at infinity.
func mapGenerator(c elliptic.Curve, nonce []byte, hx, hy *big.Int) (gx, gy *big.Int, err error) {
	sx, sy := c.ScalarBaseMult(nonce)
	gx, gy = c.Add(sx, sy, hx, hy)
	if !c.IsOnCurve(gx, gy) {
		return nil, nil, fmt.Errorf("%w: mapped generator is the point at infinity", ErrMalformed)
	}
	return gx, gy, nil
}

// mappingPoint computes H = sk * PK (the ECDH mapping key agreement of ICAO 9303-11
// §4.4.3.3.1) and rejects the point at infinity.
func mappingPoint(c elliptic.Curve, sk []byte, px, py *big.Int) (hx, hy *big.Int, err error) {
	hx, hy = c.ScalarMult(px, py, sk)
	if !c.IsOnCurve(hx, hy) {
		return nil, nil, fmt.Errorf("%w: mapping shared point is the point at infinity", ErrMalformed)
	}
	return hx, hy, nil
}

// sharedSecret is the x-coordinate of sk * PK, encoded with the field length
// (ICAO 9303-11 §4.4.3, §9.6 ECDH: KA(SK, PK, D) = x-coordinate).
func sharedSecret(c elliptic.Curve, sk []byte, px, py *big.Int) ([]byte, error) {
	x, y := c.ScalarMult(px, py, sk)
	if !c.IsOnCurve(x, y) {
		return nil, fmt.Errorf("%w: shared point is the point at infinity", ErrMalformed)
	}
	return x.FillBytes(make([]byte, fieldSize(c))), nil
}

// PasswordSecret returns f(pi), the secret a chip stores for a password (ICAO 9303-11
// §4.4.3.1, §9.7): SHA-1 of the MRZ information for an MRZ password, the ISO 8859-1
// digits themselves for a CAN, PIN or PUK.
func PasswordSecret(pw Password) ([]byte, error) {
	if len(pw.Value) == 0 {
		return nil, fmt.Errorf("%w: empty %s", ErrMalformed, pw)
	}
	switch pw.Kind {
	case MRZ:
		h := sha1.Sum(pw.Value)
		return h[:], nil
	case CAN, PIN, PUK:
		return bytes.Clone(pw.Value), nil
	}
	return nil, fmt.Errorf("%w: password kind %d", ErrUnsupported, pw.Kind)
}

// PasswordKey returns K_pi = KDF_pi(f(pi)) for a password (ICAO 9303-11 §4.4.3.1, §9.7).
func PasswordKey(pw Password, c sm.Cipher, keyBits int) ([]byte, error) {
	k, err := PasswordSecret(pw)
	if err != nil {
		return nil, err
	}
	kpi := sm.KDF(k, c, keyBits, sm.KDFPi)
	if kpi == nil {
		return nil, fmt.Errorf("%w: %s with %d-bit keys", ErrUnsupported, c, keyBits)
	}
	return kpi, nil
}

// encryptNonce is z = E(K_pi, s) in CBC mode with a zero IV (ICAO 9303-11 §4.4.3.1).
func encryptNonce(c sm.Cipher, kpi, s []byte) ([]byte, error) {
	return cbcNonce(c, kpi, s, true)
}

// decryptNonce is s = D(K_pi, z) (ICAO 9303-11 §4.4.3.1).
func decryptNonce(c sm.Cipher, kpi, z []byte) ([]byte, error) {
	return cbcNonce(c, kpi, z, false)
}

func cbcNonce(c sm.Cipher, kpi, in []byte, encrypt bool) ([]byte, error) {
	b, err := sm.NewBlock(c, kpi)
	if err != nil {
		return nil, fmt.Errorf("pace: nonce key: %w", err)
	}
	if len(in) == 0 || len(in)%b.BlockSize() != 0 {
		return nil, fmt.Errorf("%w: nonce of %d bytes is not a whole number of %d-byte blocks", ErrMalformed, len(in), b.BlockSize())
	}
	out := make([]byte, len(in))
	iv := make([]byte, b.BlockSize())
	if encrypt {
		cipher.NewCBCEncrypter(b, iv).CryptBlocks(out, in)
	} else {
		cipher.NewCBCDecrypter(b, iv).CryptBlocks(out, in)
	}
	return out, nil
}

// publicKeyObject is the public key data object 7F49 { 06 OID, 86 point } over which the
// authentication tokens are computed for ECDH (ICAO 9303-11 §4.4.3.4, §9.4).
func publicKeyObject(protocol asn1.ObjectIdentifier, point []byte) ([]byte, error) {
	oid, err := oidContent(protocol)
	if err != nil {
		return nil, err
	}
	v := append(tlv.Encode(0x06, oid), tlv.Encode(0x86, point)...)
	return tlv.Encode(0x7F49, v), nil
}

// authToken is T = MAC(KS_MAC, PK) over the public key data object of the OTHER party's
// ephemeral key (ICAO 9303-11 §4.4.3.4): AES-CMAC truncated to 8 bytes, or the 3DES retail
// MAC (ISO/IEC 9797-1 algorithm 3, padding method 2).
func authToken(c sm.Cipher, ksMAC []byte, protocol asn1.ObjectIdentifier, otherPoint []byte) ([]byte, error) {
	data, err := publicKeyObject(protocol, otherPoint)
	if err != nil {
		return nil, err
	}
	t, err := sm.MAC(c, ksMAC, data)
	if err != nil {
		return nil, fmt.Errorf("pace: token: %w", err)
	}
	return t, nil
}

// sessionKeys derives KS_Enc and KS_MAC from the shared secret (ICAO 9303-11 §9.7).
func sessionKeys(c sm.Cipher, keyBits int, secret []byte) (ksEnc, ksMAC []byte) {
	return sm.KDF(secret, c, keyBits, sm.KDFEnc), sm.KDF(secret, c, keyBits, sm.KDFMAC)
}

// newSession starts secure messaging with a zero send sequence counter (ICAO 9303-11
// §9.8: SSC = 0 after PACE).
func newSession(c sm.Cipher, ksEnc, ksMAC []byte) (*sm.Session, error) {
	s, err := sm.NewSession(c, ksEnc, ksMAC, make([]byte, c.BlockSize()))
	if err != nil {
		return nil, fmt.Errorf("pace: start secure messaging: %w", err)
	}
	return s, nil
}

// equalTokens compares two authentication tokens in constant time.
func equalTokens(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
