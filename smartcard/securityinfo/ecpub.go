package securityinfo

import (
	"crypto/elliptic"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// MarshalECPublicKey encodes an elliptic curve public key as a DER SubjectPublicKeyInfo
// (RFC 5480) with AlgorithmIdentifier id-ecPublicKey and the named-curve OID, the point
// uncompressed (BSI TR-03111 §3.2.1). Unlike crypto/x509 it handles the Brainpool curves
// used for Chip Authentication keys.
func MarshalECPublicKey(curve elliptic.Curve, x, y *big.Int) ([]byte, error) {
	oid, err := CurveOID(curve)
	if err != nil {
		return nil, err
	}
	if x == nil || y == nil || !curve.IsOnCurve(x, y) {
		return nil, errors.New("securityinfo: public key point is not on the curve")
	}
	point := EncodePoint(curve, x, y)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(OIDECPublicKey)
			b.AddASN1ObjectIdentifier(oid)
		})
		b.AddASN1BitString(point)
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("securityinfo: %w", err)
	}
	return out, nil
}

// EncodePoint returns the uncompressed point 04 || X || Y with coordinates padded to
// the field size (BSI TR-03111 §3.2.1).
func EncodePoint(curve elliptic.Curve, x, y *big.Int) []byte {
	n := (curve.Params().BitSize + 7) / 8
	p := make([]byte, 1+2*n)
	p[0] = 4
	x.FillBytes(p[1 : 1+n])
	y.FillBytes(p[1+n:])
	return p
}

// ParseECPublicKey decodes a SubjectPublicKeyInfo holding an elliptic curve key, with
// AlgorithmIdentifier id-ecPublicKey or id-PK-ECDH and parameters either a named-curve OID or
// explicit prime-field ECParameters matching a known curve (as many chips write them in
// DG14). The point must be uncompressed and on the curve.
func ParseECPublicKey(spki []byte) (elliptic.Curve, *big.Int, *big.Int, error) {
	in := cryptobyte.String(spki)
	var seq, alg cryptobyte.String
	var algOID asn1.ObjectIdentifier
	var bits asn1.BitString
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1(&alg, cbasn1.SEQUENCE) || !seq.ReadASN1BitString(&bits) || !seq.Empty() ||
		!alg.ReadASN1ObjectIdentifier(&algOID) {
		return nil, nil, nil, fmt.Errorf("%w: SubjectPublicKeyInfo", ErrMalformed)
	}
	if !algOID.Equal(OIDECPublicKey) && !algOID.Equal(OIDPKECDH) {
		return nil, nil, nil, fmt.Errorf("securityinfo: public key algorithm %s is not elliptic curve", algOID)
	}
	var curve elliptic.Curve
	switch {
	case alg.PeekASN1Tag(cbasn1.OBJECT_IDENTIFIER):
		var oid asn1.ObjectIdentifier
		if !alg.ReadASN1ObjectIdentifier(&oid) {
			return nil, nil, nil, fmt.Errorf("%w: curve OID", ErrMalformed)
		}
		for _, c := range curves {
			if c.oid.Equal(oid) {
				curve = c.curve()
			}
		}
		if curve == nil {
			return nil, nil, nil, fmt.Errorf("securityinfo: named curve %s not supported", oid)
		}
	case alg.PeekASN1Tag(cbasn1.SEQUENCE):
		var params cryptobyte.String
		if !alg.ReadASN1(&params, cbasn1.SEQUENCE) {
			return nil, nil, nil, fmt.Errorf("%w: ECParameters", ErrMalformed)
		}
		var err error
		if curve, err = explicitCurve(params); err != nil {
			return nil, nil, nil, err
		}
	default:
		return nil, nil, nil, fmt.Errorf("%w: missing curve parameters", ErrMalformed)
	}
	if !alg.Empty() {
		return nil, nil, nil, fmt.Errorf("%w: trailing bytes in AlgorithmIdentifier", ErrMalformed)
	}
	if bits.BitLength%8 != 0 {
		return nil, nil, nil, fmt.Errorf("%w: public key BIT STRING has unused bits", ErrMalformed)
	}
	x, y, err := DecodePoint(curve, bits.Bytes)
	if err != nil {
		return nil, nil, nil, err
	}
	return curve, x, y, nil
}

// DecodePoint decodes an uncompressed point and checks that it lies on the curve (which
// rules out the point at infinity). Every point from outside passes here before any
// arithmetic: elliptic's NIST curves panic on points off the curve.
func DecodePoint(curve elliptic.Curve, p []byte) (*big.Int, *big.Int, error) {
	n := (curve.Params().BitSize + 7) / 8
	if len(p) != 1+2*n || p[0] != 4 {
		return nil, nil, fmt.Errorf("%w: public key is not an uncompressed point of %d bytes", ErrMalformed, 1+2*n)
	}
	x := new(big.Int).SetBytes(p[1 : 1+n])
	y := new(big.Int).SetBytes(p[1+n:])
	if x.Cmp(curve.Params().P) >= 0 || y.Cmp(curve.Params().P) >= 0 || !curve.IsOnCurve(x, y) {
		return nil, nil, fmt.Errorf("%w: public key point is not on %s", ErrMalformed, curveName(curve))
	}
	return x, y, nil
}

// explicitCurve matches explicit ECParameters (RFC 3279 §2.3.5) against
// the known curves by prime, order and base point.
func explicitCurve(params cryptobyte.String) (elliptic.Curve, error) {
	var version int
	var field, curveSeq cryptobyte.String
	var fieldType asn1.ObjectIdentifier
	var a, b, base []byte
	prime, order := new(big.Int), new(big.Int)
	if !params.ReadASN1Integer(&version) ||
		!params.ReadASN1(&field, cbasn1.SEQUENCE) ||
		!field.ReadASN1ObjectIdentifier(&fieldType) || !field.ReadASN1Integer(prime) ||
		!params.ReadASN1(&curveSeq, cbasn1.SEQUENCE) ||
		!curveSeq.ReadASN1Bytes(&a, cbasn1.OCTET_STRING) || !curveSeq.ReadASN1Bytes(&b, cbasn1.OCTET_STRING) ||
		!params.ReadASN1Bytes(&base, cbasn1.OCTET_STRING) ||
		!params.ReadASN1Integer(order) {
		return nil, fmt.Errorf("%w: explicit ECParameters", ErrMalformed)
	}
	if !fieldType.Equal(OIDPrimeField) {
		return nil, fmt.Errorf("securityinfo: field type %s is not prime-field", fieldType)
	}
	for _, c := range curves {
		cp := c.curve().Params()
		n := (cp.BitSize + 7) / 8
		if len(base) != 1+2*n || base[0] != 4 {
			continue
		}
		gx, gy := new(big.Int).SetBytes(base[1:1+n]), new(big.Int).SetBytes(base[1+n:])
		if sameCurve(cp, prime, order, gx, gy) {
			return c.curve(), nil
		}
	}
	return nil, errors.New("securityinfo: explicit domain parameters match no supported curve")
}

// ECPublicKey decodes the info's SubjectPublicKeyInfo with ParseECPublicKey.
func (c *ChipAuthenticationPublicKeyInfo) ECPublicKey() (elliptic.Curve, *big.Int, *big.Int, error) {
	return ParseECPublicKey(c.PublicKey)
}
