package securityinfo

import (
	"crypto"
	"crypto/elliptic"
	"encoding/asn1"
	"fmt"
	"math/big"

	"github.com/osanderson/brainpool"

	"github.com/cccd-project/cccd/smartcard/bp256"
	"github.com/cccd-project/cccd/smartcard/sm"
)

// Object identifiers of ICAO 9303-11 §9.2 and BSI TR-03110 / TR-03111.
var (
	OIDBSI = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7} // bsi-de

	OIDPK     = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 1} // id-PK
	OIDPKDH   = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 1, 1}
	OIDPKECDH = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 1, 2}

	OIDTA = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 2} // id-TA

	OIDCA                 = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 3} // id-CA
	OIDCADH               = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 3, 1}
	OIDCADH3DES           = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 3, 1, 1}
	OIDCADHAES128         = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 3, 1, 2}
	OIDCADHAES192         = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 3, 1, 3}
	OIDCADHAES256         = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 3, 1, 4}
	OIDCAECDH             = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 3, 2}
	OIDCAECDH3DES         = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 3, 2, 1} // id-CA-ECDH-3DES-CBC-CBC
	OIDCAECDHAES128       = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 3, 2, 2} // id-CA-ECDH-AES-CBC-CMAC-128
	OIDCAECDHAES192       = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 3, 2, 3}
	OIDCAECDHAES256       = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 3, 2, 4}
	OIDPACE               = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4} // id-PACE
	OIDPACEDHGM           = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4, 1}
	OIDPACEDHGM3DES       = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4, 1, 1}
	OIDPACEDHGMAES128     = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4, 1, 2}
	OIDPACEDHGMAES192     = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4, 1, 3}
	OIDPACEDHGMAES256     = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4, 1, 4}
	OIDPACEECDHGM         = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4, 2}
	OIDPACEECDHGM3DES     = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4, 2, 1} // id-PACE-ECDH-GM-3DES-CBC-CBC
	OIDPACEECDHGMAES128   = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4, 2, 2} // id-PACE-ECDH-GM-AES-CBC-CMAC-128
	OIDPACEECDHGMAES192   = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4, 2, 3}
	OIDPACEECDHGMAES256   = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4, 2, 4}
	OIDPACEECDHIM         = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4, 4}
	OIDPACEECDHIMAES128   = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4, 4, 2}
	OIDPACEECDHCAM        = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4, 6}
	OIDPACEECDHCAMAES128  = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4, 6, 2}
	OIDECDSAPlain         = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 1, 1, 4, 1} // ecdsa-plain-signatures (TR-03111)
	OIDECDSAPlainSHA1     = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 1, 1, 4, 1, 1}
	OIDECDSAPlainSHA224   = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 1, 1, 4, 1, 2}
	OIDECDSAPlainSHA256   = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 1, 1, 4, 1, 3}
	OIDECDSAPlainSHA384   = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 1, 1, 4, 1, 4}
	OIDECDSAPlainSHA512   = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 1, 1, 4, 1, 5}
	OIDAA                 = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 5} // id-AA, ICAO 9303-11 §6.1
	OIDECPublicKey        = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	OIDPrimeField         = asn1.ObjectIdentifier{1, 2, 840, 10045, 1, 1}
	OIDCurveP224          = asn1.ObjectIdentifier{1, 3, 132, 0, 33}
	OIDCurveP256          = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	OIDCurveP384          = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
	OIDCurveP521          = asn1.ObjectIdentifier{1, 3, 132, 0, 35}
	OIDCurveBrainpoolP224 = asn1.ObjectIdentifier{1, 3, 36, 3, 3, 2, 8, 1, 1, 5}
	OIDCurveBrainpoolP256 = asn1.ObjectIdentifier{1, 3, 36, 3, 3, 2, 8, 1, 1, 7}
	OIDCurveBrainpoolP320 = asn1.ObjectIdentifier{1, 3, 36, 3, 3, 2, 8, 1, 1, 9}
	OIDCurveBrainpoolP384 = asn1.ObjectIdentifier{1, 3, 36, 3, 3, 2, 8, 1, 1, 11}
	OIDCurveBrainpoolP512 = asn1.ObjectIdentifier{1, 3, 36, 3, 3, 2, 8, 1, 1, 13}
)

// Standardized domain parameter identifiers, ICAO 9303-11 §9.5.1 table 4 (ECP curves).
const (
	ParamP224            = 10 // NIST P-224 (secp224r1)
	ParamBrainpoolP224r1 = 11
	ParamP256            = 12 // NIST P-256 (secp256r1)
	ParamBrainpoolP256r1 = 13
	ParamBrainpoolP320r1 = 14
	ParamP384            = 15 // NIST P-384 (secp384r1)
	ParamBrainpoolP384r1 = 16
	ParamBrainpoolP512r1 = 17
	ParamP521            = 18 // NIST P-521 (secp521r1)
)

type namedCurve struct {
	param int
	oid   asn1.ObjectIdentifier
	curve func() elliptic.Curve
}

var curves = []namedCurve{
	{ParamP224, OIDCurveP224, elliptic.P224},
	{ParamBrainpoolP224r1, OIDCurveBrainpoolP224, brainpool.P224r1},
	{ParamP256, OIDCurveP256, elliptic.P256},
	{ParamBrainpoolP256r1, OIDCurveBrainpoolP256, bp256.P256r1},
	{ParamBrainpoolP320r1, OIDCurveBrainpoolP320, brainpool.P320r1},
	{ParamP384, OIDCurveP384, elliptic.P384},
	{ParamBrainpoolP384r1, OIDCurveBrainpoolP384, brainpool.P384r1},
	{ParamBrainpoolP512r1, OIDCurveBrainpoolP512, brainpool.P512r1},
	{ParamP521, OIDCurveP521, elliptic.P521},
}

// StandardCurve returns the elliptic curve of a standardized domain parameter identifier
// (ICAO 9303-11 §9.5.1); 12 is NIST P-256, 13 brainpoolP256r1 (smartcard/bp256, the fast
// constant-time implementation; the other brainpool curves are generic). The 1024/2048-bit MODP
// groups (0-2) and the 192-bit curves are not supported.
func StandardCurve(paramID int) (elliptic.Curve, error) {
	for _, c := range curves {
		if c.param == paramID {
			return c.curve(), nil
		}
	}
	return nil, fmt.Errorf("securityinfo: standardized domain parameters %d not supported", paramID)
}

// CurveOID returns the named-curve object identifier of curve.
func CurveOID(curve elliptic.Curve) (asn1.ObjectIdentifier, error) {
	if c, ok := lookupCurve(curve); ok {
		return c.oid, nil
	}
	return nil, fmt.Errorf("securityinfo: curve %s has no known object identifier", curveName(curve))
}

// StandardParamID returns the standardized domain parameter identifier of curve.
func StandardParamID(curve elliptic.Curve) (int, error) {
	if c, ok := lookupCurve(curve); ok {
		return c.param, nil
	}
	return 0, fmt.Errorf("securityinfo: curve %s has no standardized domain parameter identifier", curveName(curve))
}

func curveName(c elliptic.Curve) string {
	if c == nil || c.Params() == nil {
		return "<nil>"
	}
	return c.Params().Name
}

func lookupCurve(curve elliptic.Curve) (namedCurve, bool) {
	if curve == nil || curve.Params() == nil {
		return namedCurve{}, false
	}
	p := curve.Params()
	for _, c := range curves {
		if c.curve() == curve {
			return c, true
		}
	}
	for _, c := range curves {
		if sameCurve(c.curve().Params(), p.P, p.N, p.Gx, p.Gy) {
			return c, true
		}
	}
	return namedCurve{}, false
}

func sameCurve(p *elliptic.CurveParams, prime, n, gx, gy *big.Int) bool {
	return p.P.Cmp(prime) == 0 && p.N.Cmp(n) == 0 && p.Gx.Cmp(gx) == 0 && p.Gy.Cmp(gy) == 0
}

// cipherSuffix maps the last arc of a PACE or CA protocol OID to its cipher (§9.2).
func cipherSuffix(arc int) (sm.Cipher, int, bool) {
	switch arc {
	case 1:
		return sm.TDES, 112, true
	case 2:
		return sm.AES, 128, true
	case 3:
		return sm.AES, 192, true
	case 4:
		return sm.AES, 256, true
	}
	return 0, 0, false
}

// ProtocolCipher returns the secure messaging cipher and key length (bits) a PACE or Chip
// Authentication protocol OID selects, e.g. id-PACE-ECDH-GM-AES-CBC-CMAC-128 -> AES, 128.
func ProtocolCipher(protocol asn1.ObjectIdentifier) (sm.Cipher, int, error) {
	if len(protocol) == len(OIDPACE)+2 && (hasPrefix(protocol, OIDPACE) || hasPrefix(protocol, OIDCA)) {
		if c, bits, ok := cipherSuffix(protocol[len(protocol)-1]); ok {
			return c, bits, nil
		}
	}
	return 0, 0, fmt.Errorf("securityinfo: protocol %s names no known cipher", protocol)
}

// SignatureHash returns the hash function of an ecdsa-plain-* signature algorithm (BSI
// TR-03111 §5.2.1) as used by Active Authentication.
func SignatureHash(alg asn1.ObjectIdentifier) (crypto.Hash, error) {
	switch {
	case alg.Equal(OIDECDSAPlainSHA1):
		return crypto.SHA1, nil
	case alg.Equal(OIDECDSAPlainSHA224):
		return crypto.SHA224, nil
	case alg.Equal(OIDECDSAPlainSHA256):
		return crypto.SHA256, nil
	case alg.Equal(OIDECDSAPlainSHA384):
		return crypto.SHA384, nil
	case alg.Equal(OIDECDSAPlainSHA512):
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("securityinfo: signature algorithm %s not supported", alg)
}

func hasPrefix(oid, prefix asn1.ObjectIdentifier) bool {
	return len(oid) >= len(prefix) && oid[:len(prefix)].Equal(prefix)
}
