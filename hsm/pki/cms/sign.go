package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"slices"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

var (
	tagCtx0 = cbasn1.Tag(0).ContextSpecific().Constructed()
	tagCtx1 = cbasn1.Tag(1).ContextSpecific().Constructed()
)

// Sign returns a DER ContentInfo holding SignedData over content (RFC 5652 §5, ICAO 9303-10
// §4.6.2.2): version 3, digestAlgorithms {hash}, encapContentInfo {contentType, content},
// certificates {cert}, one SignerInfo version 1 with issuerAndSerialNumber and the signed
// attributes contentType, messageDigest and signingTime. The signature is made by key, which
// must hold the private half of cert's public key, and the finished structure is parsed and
// verified before it is returned.
func Sign(contentType asn1.ObjectIdentifier, content []byte, cert *x509.Certificate, key crypto.Signer, opts *SignOptions) ([]byte, error) {
	var o SignOptions
	if opts != nil {
		o = *opts
	}
	if o.Hash == 0 {
		o.Hash = crypto.SHA256
	}
	if o.SigningTime.IsZero() {
		o.SigningTime = time.Now()
	}
	dOID, err := digestOID(o.Hash)
	if err != nil {
		return nil, err
	}
	if pk, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pk.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("cms: signing key does not match the certificate")
	}
	sigOID, sigParams, signerOpts, err := signatureAlgorithm(cert.PublicKey, o)
	if err != nil {
		return nil, err
	}

	h := o.Hash.New()
	h.Write(content)
	attrs, err := signedAttributes(contentType, h.Sum(nil), o.SigningTime)
	if err != nil {
		return nil, err
	}
	h = o.Hash.New()
	h.Write(attrs)
	sig, err := key.Sign(rand.Reader, h.Sum(nil), signerOpts)
	if err != nil {
		return nil, fmt.Errorf("cms: sign: %w", err)
	}

	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ContentInfo
		b.AddASN1ObjectIdentifier(OIDSignedData)
		b.AddASN1(tagCtx0, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignedData
				b.AddASN1Int64(3)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(dOID) })
				})
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // EncapsulatedContentInfo
					b.AddASN1ObjectIdentifier(contentType)
					b.AddASN1(tagCtx0, func(b *cryptobyte.Builder) { b.AddASN1OctetString(content) })
				})
				b.AddASN1(tagCtx0, func(b *cryptobyte.Builder) { b.AddBytes(cert.Raw) })
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignerInfo
						b.AddASN1Int64(1)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddBytes(cert.RawIssuer)
							b.AddASN1BigInt(cert.SerialNumber)
						})
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(dOID) })
						b.AddASN1(cbasn1.Tag(0).ContextSpecific().Constructed(), func(b *cryptobyte.Builder) {
							b.AddBytes(attrs[2+lengthBytes(attrs):])
						})
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddASN1ObjectIdentifier(sigOID)
							if sigParams != nil {
								b.AddBytes(sigParams)
							}
						})
						b.AddASN1OctetString(sig)
					})
				})
			})
		})
	})
	der, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("cms: encode: %w", err)
	}
	sd, err := Parse(der)
	if err != nil {
		return nil, fmt.Errorf("cms: self-check: %w", err)
	}
	if _, err := sd.Verify(); err != nil {
		return nil, fmt.Errorf("cms: signer returned a bad signature: %w", err)
	}
	return der, nil
}

// lengthBytes is the number of extra DER length bytes after the first length byte of a TLV
// with a one-byte tag.
func lengthBytes(tlv []byte) int {
	if tlv[1]&0x80 == 0 {
		return 0
	}
	return int(tlv[1] & 0x7f)
}

// signedAttributes returns the DER SET OF Attribute (RFC 5652 §5.4: the SET tag, not [0], is
// what is signed), elements in DER order.
func signedAttributes(contentType asn1.ObjectIdentifier, digest []byte, at time.Time) ([]byte, error) {
	at = at.UTC().Truncate(time.Second)
	build := func(oid asn1.ObjectIdentifier, value func(*cryptobyte.Builder)) ([]byte, error) {
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			b.AddASN1(cbasn1.SET, value)
		})
		return b.Bytes()
	}
	var elems [][]byte
	for _, a := range []struct {
		oid asn1.ObjectIdentifier
		v   func(*cryptobyte.Builder)
	}{
		{OIDContentType, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(contentType) }},
		{OIDMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(digest) }},
		{OIDSigningTime, func(b *cryptobyte.Builder) {
			// RFC 5652 §11.3: UTCTime for 1950-2049, GeneralizedTime otherwise.
			if y := at.Year(); y >= 1950 && y < 2050 {
				b.AddASN1UTCTime(at)
			} else {
				b.AddASN1GeneralizedTime(at)
			}
		}},
	} {
		e, err := build(a.oid, a.v)
		if err != nil {
			return nil, fmt.Errorf("cms: encode attribute %v: %w", a.oid, err)
		}
		elems = append(elems, e)
	}
	slices.SortFunc(elems, bytes.Compare) // X.690 §11.6
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
		for _, e := range elems {
			b.AddBytes(e)
		}
	})
	return b.Bytes()
}

// signatureAlgorithm picks the signatureAlgorithm identifier and crypto.SignerOpts for a key.
func signatureAlgorithm(pub crypto.PublicKey, o SignOptions) (asn1.ObjectIdentifier, []byte, crypto.SignerOpts, error) {
	switch pub.(type) {
	case *ecdsa.PublicKey:
		// RFC 5758 §3.2: no parameters.
		switch o.Hash {
		case crypto.SHA256:
			return OIDECDSAWithSHA256, nil, o.Hash, nil
		case crypto.SHA384:
			return OIDECDSAWithSHA384, nil, o.Hash, nil
		case crypto.SHA512:
			return OIDECDSAWithSHA512, nil, o.Hash, nil
		}
	case *rsa.PublicKey:
		if o.PSS {
			p, err := marshalPSSParams(o.Hash)
			if err != nil {
				return nil, nil, nil, err
			}
			return OIDRSASSAPSS, p, &rsa.PSSOptions{SaltLength: o.Hash.Size(), Hash: o.Hash}, nil
		}
		null := []byte{0x05, 0x00} // RFC 4055 §5: NULL parameters
		switch o.Hash {
		case crypto.SHA256:
			return OIDSHA256WithRSA, null, o.Hash, nil
		case crypto.SHA384:
			return OIDSHA384WithRSA, null, o.Hash, nil
		case crypto.SHA512:
			return OIDSHA512WithRSA, null, o.Hash, nil
		}
	default:
		return nil, nil, nil, fmt.Errorf("%w: key %T", ErrUnsupported, pub)
	}
	return nil, nil, nil, fmt.Errorf("%w: hash %v", ErrUnsupported, o.Hash)
}
