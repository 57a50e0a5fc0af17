package vchip

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/bp256"
	"github.com/cccd-project/cccd/smartcard/tlv"
)

// Data object tags and key references of the personalization profile.
const (
	TagMRZKey = 0xC1 // PUT DATA: SHA-1 of the MRZ information, 20 bytes
	TagCAN    = 0xC2 // PUT DATA: the 6-digit CAN, ASCII
	TagSerial = 0xC0 // GET DATA: the chip serial, ASCII

	KeyRefAA = 0x01 // GENERATE ASYMMETRIC KEY PAIR: Active Authentication key (ECDSA P-256)
	KeyRefCA = 0x02 // GENERATE ASYMMETRIC KEY PAIR: Chip Authentication key (ECDH)
)

// Object identifiers of the curves a CA key may be generated on.
var (
	oidBrainpoolP256r1 = asn1.ObjectIdentifier{1, 3, 36, 3, 3, 2, 8, 1, 1, 7}
	oidP256            = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidECPublicKey     = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
)

// caKey is the static Chip Authentication key pair (ICAO 9303-11 §6.2).
type caKey struct {
	curveOID asn1.ObjectIdentifier
	d        []byte
}

// curve returns the elliptic curve of a key.
func curveOf(oid asn1.ObjectIdentifier) (elliptic.Curve, bool) {
	switch {
	case oid.Equal(oidBrainpoolP256r1):
		return bp256.P256r1(), true
	case oid.Equal(oidP256):
		return elliptic.P256(), true
	}
	return nil, false
}

// public returns the uncompressed public point 04||X||Y.
func (k *caKey) public() []byte {
	curve, _ := curveOf(k.curveOID)
	x, y := curve.ScalarBaseMult(k.d)
	return marshalPoint(curve, x, y)
}

// marshalPoint encodes an uncompressed point (SEC 1 §2.3.3).
func marshalPoint(curve elliptic.Curve, x, y *big.Int) []byte {
	n := (curve.Params().BitSize + 7) / 8
	out := make([]byte, 1+2*n)
	out[0] = 4
	x.FillBytes(out[1 : 1+n])
	y.FillBytes(out[1+n:])
	return out
}

// marshalSPKI encodes a SubjectPublicKeyInfo with a named curve (RFC 5480 §2).
func marshalSPKI(curveOID asn1.ObjectIdentifier, point []byte) []byte {
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oidECPublicKey)
			b.AddASN1ObjectIdentifier(curveOID)
		})
		b.AddASN1BitString(point)
	})
	return b.BytesOrPanic()
}

// generateScalar returns a uniformly random scalar in [1, N-1] (FIPS 186-5 A.2.2).
func generateScalar(curve elliptic.Curve, r io.Reader) ([]byte, error) {
	n := curve.Params().N
	size := (n.BitLen() + 7) / 8
	buf := make([]byte, size)
	for range 100 {
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		if excess := size*8 - n.BitLen(); excess > 0 {
			buf[0] &= 0xFF >> excess
		}
		k := new(big.Int).SetBytes(buf)
		if k.Sign() > 0 && k.Cmp(n) < 0 {
			return append([]byte(nil), buf...), nil
		}
	}
	return nil, fmt.Errorf("vchip: random source keeps giving out-of-range scalars")
}

// putData implements PUT DATA (ISO 7816-4 §11.5.6) for the access keys: P1-P2 is the tag.
func (c *Chip) putData(cmd apdu.Command) apdu.Response {
	if c.locked {
		return sw(apdu.SWConditionsNotSatisfied)
	}
	if cmd.P1 != 0 {
		return sw(apdu.SWRefDataNotFound)
	}
	switch cmd.P2 {
	case TagMRZKey:
		if len(cmd.Data) != mrzKeySize {
			return sw(apdu.SWWrongLength)
		}
		c.mrzKey = append([]byte(nil), cmd.Data...)
	case TagCAN:
		if len(cmd.Data) != 6 || !allDigits(cmd.Data) {
			return sw(apdu.SWWrongData)
		}
		c.can = string(cmd.Data)
	default:
		return sw(apdu.SWRefDataNotFound)
	}
	return sw(apdu.SWOK)
}

// mrzKeySize is the size of the stored MRZ key, SHA-1 of the MRZ information.
const mrzKeySize = 20

func allDigits(b []byte) bool {
	for _, d := range b {
		if d < '0' || d > '9' {
			return false
		}
	}
	return true
}

// getData implements GET DATA for the chip serial, allowed in every life cycle state.
func (c *Chip) getData(cmd apdu.Command) apdu.Response {
	if cmd.P1 != 0 || cmd.P2 != TagSerial {
		return sw(apdu.SWRefDataNotFound)
	}
	return apdu.Response{Data: []byte(c.serial), SW: apdu.SWOK}
}

// generateKeyPair implements GENERATE ASYMMETRIC KEY PAIR (ISO 7816-8 §5.1) with
// P1 80 (generate), P2 00 and data 84 <key ref> [06 <curve OID>]. The answer is the
// public key as a DER SubjectPublicKeyInfo; the private key never leaves the chip.
func (c *Chip) generateKeyPair(cmd apdu.Command) apdu.Response {
	if c.locked {
		return sw(apdu.SWConditionsNotSatisfied)
	}
	if cmd.P1 != 0x80 || cmd.P2 != 0 {
		return sw(apdu.SWIncorrectP1P2)
	}
	objs, err := tlv.Parse(cmd.Data)
	if err != nil || len(objs) == 0 || objs[0].Tag != 0x84 || len(objs[0].Value) != 1 {
		return sw(apdu.SWWrongData)
	}
	var curveOID asn1.ObjectIdentifier
	for _, o := range objs[1:] {
		if o.Tag != 0x06 {
			return sw(apdu.SWWrongData)
		}
		full := tlv.Encode(0x06, o.Value)
		if rest, err := asn1.Unmarshal(full, &curveOID); err != nil || len(rest) != 0 {
			return sw(apdu.SWWrongData)
		}
	}
	switch objs[0].Value[0] {
	case KeyRefAA:
		if curveOID != nil && !curveOID.Equal(oidP256) {
			return sw(apdu.SWFuncNotSupported)
		}
		key, err := ecdsa.GenerateKey(elliptic.P256(), c.rand)
		if err != nil {
			return sw(apdu.SWMemoryFailure)
		}
		spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
		if err != nil {
			return sw(apdu.SWMemoryFailure)
		}
		c.aaKey = key
		return apdu.Response{Data: spki, SW: apdu.SWOK}
	case KeyRefCA:
		if curveOID == nil {
			curveOID = oidBrainpoolP256r1
		}
		curve, ok := curveOf(curveOID)
		if !ok {
			return sw(apdu.SWFuncNotSupported)
		}
		d, err := generateScalar(curve, c.rand)
		if err != nil {
			return sw(apdu.SWMemoryFailure)
		}
		c.caKey = &caKey{curveOID: curveOID, d: d}
		return apdu.Response{Data: marshalSPKI(curveOID, c.caKey.public()), SW: apdu.SWOK}
	}
	return sw(apdu.SWRefDataNotFound)
}

// lock implements ACTIVATE FILE on the MF (ISO 7816-9 §8.3): the card leaves the
// personalization state for good. The MRZ key must be set.
func (c *Chip) lock(cmd apdu.Command) apdu.Response {
	if c.locked {
		return sw(apdu.SWConditionsNotSatisfied)
	}
	if cmd.P1 != 0 || cmd.P2 != 0 {
		return sw(apdu.SWIncorrectP1P2)
	}
	if len(cmd.Data) != 0 && !bytes.Equal(cmd.Data, []byte{0x3F, 0x00}) {
		return sw(apdu.SWFileNotFound)
	}
	if c.mrzKey == nil {
		return sw(apdu.SWConditionsNotSatisfied)
	}
	c.locked = true
	c.sess = nil
	c.auth = authState{}
	c.inApp, c.current = false, nil
	return sw(apdu.SWOK)
}
