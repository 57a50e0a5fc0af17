package pace

import (
	"crypto/elliptic"
	"encoding/asn1"
	"fmt"

	"github.com/cccd-project/cccd/smartcard/securityinfo"
	"github.com/cccd-project/cccd/smartcard/sm"
)

// Curve returns the elliptic curve of a standardized domain parameter ID (ICAO 9303-11
// §9.5.1: securityinfo.ParamP256 = 12, securityinfo.ParamBrainpoolP256r1 = 13, ...), or an
// error wrapping ErrUnsupported. The MODP groups and the 192-bit curves are not supported.
func Curve(parameterID int) (elliptic.Curve, error) {
	c, err := securityinfo.StandardCurve(parameterID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	return c, nil
}

// suite is the symmetric part of a PACE protocol: the cipher of secure messaging and of
// the nonce encryption, and the session key length in bits.
type suite struct {
	cipher  sm.Cipher
	keyBits int
}

// blockSize is the cipher block length, which is also the nonce length (ICAO 9303-11 §4.4.3.1).
func (s suite) blockSize() int { return s.cipher.BlockSize() }

// Suite returns the secure messaging cipher and key length in bits that a PACE protocol
// OID selects (ICAO 9303-11 §9.2), or an error wrapping ErrUnsupported for any protocol
// other than ECDH Generic Mapping.
func Suite(protocol asn1.ObjectIdentifier) (sm.Cipher, int, error) {
	s, err := suiteOf(protocol)
	return s.cipher, s.keyBits, err
}

func suiteOf(protocol asn1.ObjectIdentifier) (suite, error) {
	switch {
	case protocol.Equal(securityinfo.OIDPACEECDHGM3DES):
		return suite{sm.TDES, 112}, nil
	case protocol.Equal(securityinfo.OIDPACEECDHGMAES128):
		return suite{sm.AES, 128}, nil
	case protocol.Equal(securityinfo.OIDPACEECDHGMAES192):
		return suite{sm.AES, 192}, nil
	case protocol.Equal(securityinfo.OIDPACEECDHGMAES256):
		return suite{sm.AES, 256}, nil
	}
	return suite{}, fmt.Errorf("%w: protocol %s (only ECDH generic mapping)", ErrUnsupported, protocol)
}

// oidContent returns the content octets of the DER encoding of oid (no tag, no length), as
// carried in tag 80 of MSE:Set AT and tag 06 of a public key data object.
func oidContent(oid asn1.ObjectIdentifier) ([]byte, error) {
	der, err := asn1.Marshal(oid)
	if err != nil {
		return nil, fmt.Errorf("pace: encode oid %s: %w", oid, err)
	}
	// A marshalled OID is 06 L content with L < 128 for every OID used here.
	if len(der) < 2 || der[1] >= 0x80 {
		return nil, fmt.Errorf("pace: oid %s too long", oid)
	}
	return der[2:], nil
}
