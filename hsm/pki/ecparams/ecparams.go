// Package ecparams reads elliptic-curve public keys and certificates whose keys are written
// with explicit domain parameters (RFC 3279 §2.3.5, SEC 1 §C.2: ECParameters with the field
// prime, the coefficients a and b, the base point, the order and the cofactor), as many
// real CSCA and Document Signer certificates are (BSI TR-03110-3 §A.2.1.1; ICAO 9303-12
// §7.1 allows both forms). crypto/x509 refuses them ("x509: invalid ECDSA parameters"), and
// refuses named brainpool curves ("x509: unsupported elliptic curve").
//
// Explicit parameters are matched byte for byte against the known named curves
// (brainpoolP256r1, brainpoolP384r1, brainpoolP512r1 of RFC 5639, and P-256, P-384, P-521
// of FIPS 186-4); any other curve is refused with ErrUnknownCurve. ParseCertificate returns
// an *x509.Certificate whose PublicKey is an *ecdsa.PublicKey on that curve, so the rest of
// the code (CheckSignatureFrom, CMS verification, CRL checks) works unchanged.
//
// The package is pure: bytes in, values out.
package ecparams

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"github.com/osanderson/brainpool"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/cccd-project/cccd/smartcard/bp256"
)

// Object identifiers (RFC 5480 §2.1.1, RFC 5639 §4.1, X9.62).
var (
	OIDPublicKeyEC = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	OIDPrimeField  = asn1.ObjectIdentifier{1, 2, 840, 10045, 1, 1}
)

// Sentinel errors.
var (
	ErrMalformed    = errors.New("ecparams: malformed EC parameters")
	ErrUnknownCurve = errors.New("ecparams: unknown elliptic curve")
	ErrNotEC        = errors.New("ecparams: not an elliptic-curve key")
)

// Curve is a named curve this package recognizes.
type Curve struct {
	Name  string                // brainpoolP256r1, P-256, ...
	OID   asn1.ObjectIdentifier // its named-curve identifier
	Curve elliptic.Curve        // the implementation keys are made on
	A, B  *big.Int              // coefficients (crypto/elliptic assumes a = -3; brainpool curves differ)
}

// Size is the length in bytes of a field element.
func (c *Curve) Size() int { return (c.Curve.Params().BitSize + 7) / 8 }

func hexInt(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 16)
	if !ok {
		panic("ecparams: bad constant " + s)
	}
	return n
}

func minus3(c elliptic.Curve) *big.Int { return new(big.Int).Sub(c.Params().P, big.NewInt(3)) }

// curves are the known curves, RFC 5639 §3.4-3.7 (a given there) and FIPS 186-4 §D.1.2.
var curves = []*Curve{
	{Name: "brainpoolP256r1", OID: asn1.ObjectIdentifier{1, 3, 36, 3, 3, 2, 8, 1, 1, 7}, Curve: bp256.P256r1(),
		A: hexInt("7d5a0975fc2c3057eef67530417affe7fb8055c126dc5c6ce94a4b44f330b5d9"),
		B: hexInt("26dc5c6ce94a4b44f330b5d9bbd77cbf958416295cf7e1ce6bccdc18ff8c07b6")},
	{Name: "brainpoolP384r1", OID: asn1.ObjectIdentifier{1, 3, 36, 3, 3, 2, 8, 1, 1, 11}, Curve: brainpool.P384r1(),
		A: hexInt("7bc382c63d8c150c3c72080ace05afa0c2bea28e4fb22787139165efba91f90f8aa5814a503ad4eb04a8c7dd22ce2826"),
		B: hexInt("04a8c7dd22ce28268b39b55416f0447c2fb77de107dcd2a62e880ea53eeb62d57cb4390295dbc9943ab78696fa504c11")},
	{Name: "brainpoolP512r1", OID: asn1.ObjectIdentifier{1, 3, 36, 3, 3, 2, 8, 1, 1, 13}, Curve: brainpool.P512r1(),
		A: hexInt("7830a3318b603b89e2327145ac234cc594cbdd8d3df91610a83441caea9863bc2ded5d5aa8253aa10a2ef1c98b9ac8b57f1117a72bf2c7b9e7c1ac4d77fc94ca"),
		B: hexInt("3df91610a83441caea9863bc2ded5d5aa8253aa10a2ef1c98b9ac8b57f1117a72bf2c7b9e7c1ac4d77fc94cadc083e67984050b75ebae5dd2809bd638016f723")},
	{Name: "P-256", OID: asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}, Curve: elliptic.P256(), A: minus3(elliptic.P256()), B: elliptic.P256().Params().B},
	{Name: "P-384", OID: asn1.ObjectIdentifier{1, 3, 132, 0, 34}, Curve: elliptic.P384(), A: minus3(elliptic.P384()), B: elliptic.P384().Params().B},
	{Name: "P-521", OID: asn1.ObjectIdentifier{1, 3, 132, 0, 35}, Curve: elliptic.P521(), A: minus3(elliptic.P521()), B: elliptic.P521().Params().B},
}

// Curves returns the known curves.
func Curves() []*Curve { return append([]*Curve(nil), curves...) }

// ByName returns the known curve named name (brainpoolP384r1, P-384, ...), or nil.
func ByName(name string) *Curve {
	for _, c := range curves {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// ByCurve returns the known curve implemented by c, or nil.
func ByCurve(c elliptic.Curve) *Curve {
	for _, k := range curves {
		if k.Curve == c || k.Curve.Params() == c.Params() {
			return k
		}
	}
	return nil
}

// fixed returns n as a big-endian byte string of exactly size bytes (SEC 1 §2.3.5,
// FieldElement-to-OctetString), or nil if n does not fit.
func fixed(n *big.Int, size int) []byte {
	if n.Sign() < 0 || n.BitLen() > 8*size {
		return nil
	}
	return n.FillBytes(make([]byte, size))
}

// element returns the field element b in its canonical form of size bytes. SEC 1 §2.3.5
// fixes the length, but some issuers write a and b like INTEGERs, with a leading zero byte
// (OpenSSL reads those as the same curve, and so does this package); anything longer is
// returned as is, so it matches nothing.
func element(b []byte, size int) []byte {
	for len(b) > size && b[0] == 0 {
		b = b[1:]
	}
	if len(b) >= size {
		return b
	}
	return append(make([]byte, size-len(b)), b...)
}

// Explicit returns the DER ECParameters (SEC 1 §C.2, version 1, prime field, no seed,
// uncompressed base point, cofactor 1) that spell c out.
func (c *Curve) Explicit() []byte {
	p, size := c.Curve.Params(), c.Size()
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(OIDPrimeField)
			b.AddASN1BigInt(p.P)
		})
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1OctetString(fixed(c.A, size))
			b.AddASN1OctetString(fixed(c.B, size))
		})
		b.AddASN1OctetString(append(append([]byte{4}, fixed(p.Gx, size)...), fixed(p.Gy, size)...))
		b.AddASN1BigInt(p.N)
		b.AddASN1Int64(1)
	})
	return b.BytesOrPanic()
}

// Parameters is what ParseParameters found.
type Parameters struct {
	Curve    *Curve
	Explicit bool // written out in full rather than named by OID
}

// String is "brainpoolP512r1 (explicit parameters)" or "P-256 (named curve)".
func (p Parameters) String() string {
	if p.Explicit {
		return p.Curve.Name + " (explicit parameters)"
	}
	return p.Curve.Name + " (named curve)"
}

// ParseParameters reads the parameters of an id-ecPublicKey AlgorithmIdentifier (RFC 5480
// §2.1.1): a namedCurve OID or explicit ECParameters (SEC 1 §C.2). Explicit parameters must
// equal a known curve's, byte for byte: the prime, a and b (as field elements of the
// curve's size; see element), the uncompressed base point, the order, and the cofactor 1
// when present; the optional seed is ignored. implicitlyCA (NULL) is refused.
func ParseParameters(der []byte) (Parameters, error) {
	in := cryptobyte.String(der)
	if in.PeekASN1Tag(cbasn1.OBJECT_IDENTIFIER) {
		var oid asn1.ObjectIdentifier
		if !in.ReadASN1ObjectIdentifier(&oid) || !in.Empty() {
			return Parameters{}, fmt.Errorf("%w: namedCurve", ErrMalformed)
		}
		for _, c := range curves {
			if c.OID.Equal(oid) {
				return Parameters{Curve: c}, nil
			}
		}
		return Parameters{}, fmt.Errorf("%w: named curve %v", ErrUnknownCurve, oid)
	}
	var seq, field, curve cryptobyte.String
	var version int64
	var fieldType asn1.ObjectIdentifier
	prime, order, cofactor := new(big.Int), new(big.Int), big.NewInt(1)
	var a, b, base []byte
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() {
		return Parameters{}, fmt.Errorf("%w: parameters are neither a namedCurve OID nor ECParameters", ErrMalformed)
	}
	if !seq.ReadASN1Integer(&version) || version != 1 {
		return Parameters{}, fmt.Errorf("%w: ECParameters version must be 1 (ecpVer1)", ErrMalformed)
	}
	if !seq.ReadASN1(&field, cbasn1.SEQUENCE) || !field.ReadASN1ObjectIdentifier(&fieldType) {
		return Parameters{}, fmt.Errorf("%w: fieldID", ErrMalformed)
	}
	if !fieldType.Equal(OIDPrimeField) {
		return Parameters{}, fmt.Errorf("%w: field type %v (only prime-field curves are known)", ErrUnknownCurve, fieldType)
	}
	if !field.ReadASN1Integer(prime) || !field.Empty() {
		return Parameters{}, fmt.Errorf("%w: fieldID prime", ErrMalformed)
	}
	if !seq.ReadASN1(&curve, cbasn1.SEQUENCE) || !curve.ReadASN1Bytes(&a, cbasn1.OCTET_STRING) ||
		!curve.ReadASN1Bytes(&b, cbasn1.OCTET_STRING) || !curve.SkipOptionalASN1(cbasn1.BIT_STRING) || !curve.Empty() {
		return Parameters{}, fmt.Errorf("%w: curve coefficients a, b", ErrMalformed)
	}
	if !seq.ReadASN1Bytes(&base, cbasn1.OCTET_STRING) || !seq.ReadASN1Integer(order) {
		return Parameters{}, fmt.Errorf("%w: base point and order", ErrMalformed)
	}
	if !seq.Empty() && (!seq.ReadASN1Integer(cofactor) || !seq.Empty()) {
		return Parameters{}, fmt.Errorf("%w: cofactor", ErrMalformed)
	}
	for _, c := range curves {
		p, size := c.Curve.Params(), c.Size()
		if prime.Cmp(p.P) != 0 {
			continue
		}
		g := append(append([]byte{4}, fixed(p.Gx, size)...), fixed(p.Gy, size)...)
		if !bytes.Equal(element(a, size), fixed(c.A, size)) || !bytes.Equal(element(b, size), fixed(c.B, size)) || !bytes.Equal(base, g) ||
			order.Cmp(p.N) != 0 || cofactor.Cmp(big.NewInt(1)) != 0 {
			return Parameters{}, fmt.Errorf("%w: explicit parameters over the prime of %s differ from it (a, b, base point, order or cofactor)",
				ErrUnknownCurve, c.Name)
		}
		return Parameters{Curve: c, Explicit: true}, nil
	}
	return Parameters{}, fmt.Errorf("%w: explicit parameters with a %d-bit prime match no known curve", ErrUnknownCurve, prime.BitLen())
}

// ParsePublicKey reads a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) holding an
// id-ecPublicKey with named or explicit parameters. The point must be uncompressed and on
// the curve.
func ParsePublicKey(spki []byte) (*ecdsa.PublicKey, Parameters, error) {
	in := cryptobyte.String(spki)
	var seq, alg, params cryptobyte.String
	var oid asn1.ObjectIdentifier
	var bits asn1.BitString
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() || !seq.ReadASN1(&alg, cbasn1.SEQUENCE) ||
		!alg.ReadASN1ObjectIdentifier(&oid) {
		return nil, Parameters{}, fmt.Errorf("%w: SubjectPublicKeyInfo", ErrMalformed)
	}
	if !oid.Equal(OIDPublicKeyEC) {
		return nil, Parameters{}, fmt.Errorf("%w: algorithm %v", ErrNotEC, oid)
	}
	var tag cbasn1.Tag
	if !alg.ReadAnyASN1Element(&params, &tag) || !alg.Empty() || !seq.ReadASN1BitString(&bits) || !seq.Empty() {
		return nil, Parameters{}, fmt.Errorf("%w: SubjectPublicKeyInfo", ErrMalformed)
	}
	p, err := ParseParameters(params)
	if err != nil {
		return nil, Parameters{}, err
	}
	pub, err := p.Curve.point(bits)
	if err != nil {
		return nil, Parameters{}, err
	}
	return pub, p, nil
}

// point decodes an uncompressed point (SEC 1 §2.3.4) of c.
func (c *Curve) point(bits asn1.BitString) (*ecdsa.PublicKey, error) {
	size := c.Size()
	b := bits.Bytes
	if bits.BitLength != 8*len(b) || len(b) != 1+2*size || b[0] != 4 {
		return nil, fmt.Errorf("%w: public key of %s must be an uncompressed point of %d bytes", ErrMalformed, c.Name, 1+2*size)
	}
	x, y := new(big.Int).SetBytes(b[1:1+size]), new(big.Int).SetBytes(b[1+size:])
	p := c.Curve.Params().P
	if x.Cmp(p) >= 0 || y.Cmp(p) >= 0 || !c.Curve.IsOnCurve(x, y) {
		return nil, fmt.Errorf("%w: public key point is not on %s", ErrMalformed, c.Name)
	}
	return &ecdsa.PublicKey{Curve: c.Curve, X: x, Y: y}, nil
}

// MarshalPublicKey returns the DER SubjectPublicKeyInfo of pub with its curve named by OID
// or, when explicit, spelled out (Explicit).
func MarshalPublicKey(pub *ecdsa.PublicKey, explicit bool) ([]byte, error) {
	c := ByCurve(pub.Curve)
	if c == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownCurve, pub.Curve.Params().Name)
	}
	size := c.Size()
	point := append(append([]byte{4}, fixed(pub.X, size)...), fixed(pub.Y, size)...)
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(OIDPublicKeyEC)
			if explicit {
				b.AddBytes(c.Explicit())
			} else {
				b.AddASN1ObjectIdentifier(c.OID)
			}
		})
		b.AddASN1BitString(point)
	})
	return b.Bytes()
}

// ParsePKIXPublicKey is x509.ParsePKIXPublicKey that also reads elliptic-curve keys with
// explicit parameters or on a brainpool curve (ParsePublicKey): the keys of DG15 (Active
// Authentication, ICAO 9303-11 §6.1) of many States' documents are written so.
func ParsePKIXPublicKey(der []byte) (crypto.PublicKey, error) {
	pub, x509Err := x509.ParsePKIXPublicKey(der)
	if x509Err == nil {
		return pub, nil
	}
	k, _, err := ParsePublicKey(der)
	switch {
	case errors.Is(err, ErrNotEC):
		return nil, x509Err
	case err != nil:
		return nil, err
	}
	return k, nil
}
