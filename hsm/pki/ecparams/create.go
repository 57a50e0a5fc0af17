package ecparams

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha1"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ECDSA signature algorithms (RFC 5758 §3.2).
var (
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
)

// hashFor returns the hash ICAO 9303-12 §7.1 pairs with a key of the given size (the
// signature strength follows the key, NIST SP 800-57): SHA-256 up to 256 bits, SHA-384 up
// to 384, SHA-512 above.
func hashFor(c elliptic.Curve) (crypto.Hash, x509.SignatureAlgorithm, asn1.ObjectIdentifier) {
	switch bits := c.Params().BitSize; {
	case bits <= 256:
		return crypto.SHA256, x509.ECDSAWithSHA256, oidECDSAWithSHA256
	case bits <= 384:
		return crypto.SHA384, x509.ECDSAWithSHA384, oidECDSAWithSHA384
	}
	return crypto.SHA512, x509.ECDSAWithSHA512, oidECDSAWithSHA512
}

// KeyID is the RFC 5280 §4.2.1.2 method (1) key identifier of pub: the SHA-1 of its
// uncompressed point (the subjectPublicKey bits, whatever form the parameters take).
func KeyID(pub *ecdsa.PublicKey) ([]byte, error) {
	c := ByCurve(pub.Curve)
	if c == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownCurve, pub.Curve.Params().Name)
	}
	size := c.Size()
	h := sha1.Sum(append(append([]byte{4}, fixed(pub.X, size)...), fixed(pub.Y, size)...))
	return h[:], nil
}

// CreateCertificate is x509.CreateCertificate for keys crypto/x509 cannot write: it issues
// a certificate from template for the subject key pub, on any known curve, with its curve
// named or (explicit) spelled out in full, signed by priv, an ECDSA key on any known curve
// whose certificate is parent (parent == template: self-signed). The signature hash follows
// priv's size (SHA-256, -384, -512). crypto/x509 encodes the rest of the certificate from
// the template; the subject key and the signature are then written with cryptobyte. The
// result is parsed with ParseCertificate and its signature verified against priv's public key.
func CreateCertificate(rand io.Reader, template, parent *x509.Certificate, pub *ecdsa.PublicKey, explicit bool, priv crypto.Signer) (*x509.Certificate, error) {
	issuerPub, ok := priv.Public().(*ecdsa.PublicKey)
	if !ok || ByCurve(issuerPub.Curve) == nil {
		return nil, errors.New("ecparams: the issuer key must be ECDSA on a known curve")
	}
	spki, err := MarshalPublicKey(pub, explicit)
	if err != nil {
		return nil, err
	}
	h, sigAlg, sigOID := hashFor(issuerPub.Curve)
	// crypto/x509 encodes the template with a stand-in key of its own, signing with it.
	stand, err := ecdsa.GenerateKey(elliptic.P256(), rand)
	if err != nil {
		return nil, fmt.Errorf("ecparams: %w", err)
	}
	tmpl := *template
	tmpl.SignatureAlgorithm = sigAlg
	if len(tmpl.SubjectKeyId) == 0 {
		if tmpl.SubjectKeyId, err = KeyID(pub); err != nil {
			return nil, err
		}
	}
	par := &tmpl
	if parent != template {
		p := *parent
		p.PublicKey = stand.Public()
		par = &p
	} else if len(tmpl.AuthorityKeyId) == 0 {
		tmpl.AuthorityKeyId = tmpl.SubjectKeyId
	}
	der, err := x509.CreateCertificate(rand, &tmpl, par, stand.Public(), stand)
	if err != nil {
		return nil, fmt.Errorf("ecparams: encode certificate: %w", err)
	}
	tbs, err := ReplaceSubjectPublicKey(der, spki)
	if err != nil {
		return nil, err
	}
	out, digest, err := sign(rand, tbs, h, sigOID, priv)
	if err != nil {
		return nil, err
	}
	c, err := ParseCertificate(out)
	if err != nil {
		return nil, fmt.Errorf("ecparams: parse issued certificate: %w", err)
	}
	if !ecdsa.VerifyASN1(issuerPub, digest, c.Signature) {
		return nil, errors.New("ecparams: the issued certificate's signature does not verify with the issuer key")
	}
	return c, nil
}

// sign returns the DER SEQUENCE { tbs, AlgorithmIdentifier { sigOID }, BIT STRING signature }
// (a Certificate, RFC 5280 §4.1, or a CertificateList, §5.1) and the digest signed.
func sign(rand io.Reader, tbs []byte, h crypto.Hash, sigOID asn1.ObjectIdentifier, priv crypto.Signer) ([]byte, []byte, error) {
	d := h.New()
	d.Write(tbs)
	digest := d.Sum(nil)
	sig, err := priv.Sign(rand, digest, h)
	if err != nil {
		return nil, nil, fmt.Errorf("ecparams: sign: %w", err)
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(tbs)
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(sigOID) })
		b.AddASN1BitString(sig)
	})
	out, err := b.Bytes()
	if err != nil {
		return nil, nil, fmt.Errorf("ecparams: encode: %w", err)
	}
	return out, digest, nil
}

// CreateRevocationList is x509.CreateRevocationList for an issuer whose key crypto/x509
// cannot sign with (brainpool, or any known curve): crypto/x509 encodes the CRL from the
// template, and priv signs it. The result is parsed and its signature checked against issuer.
func CreateRevocationList(rand io.Reader, template *x509.RevocationList, issuer *x509.Certificate, priv crypto.Signer) ([]byte, error) {
	issuerPub, ok := priv.Public().(*ecdsa.PublicKey)
	if !ok || ByCurve(issuerPub.Curve) == nil {
		return nil, errors.New("ecparams: the issuer key must be ECDSA on a known curve")
	}
	h, sigAlg, sigOID := hashFor(issuerPub.Curve)
	stand, err := ecdsa.GenerateKey(elliptic.P256(), rand)
	if err != nil {
		return nil, fmt.Errorf("ecparams: %w", err)
	}
	tmpl := *template
	tmpl.SignatureAlgorithm = sigAlg
	iss := *issuer
	iss.PublicKey = stand.Public()
	der, err := x509.CreateRevocationList(rand, &tmpl, &iss, stand)
	if err != nil {
		return nil, fmt.Errorf("ecparams: encode CRL: %w", err)
	}
	in := cryptobyte.String(der)
	var list, tbs cryptobyte.String
	if !in.ReadASN1(&list, cbasn1.SEQUENCE) || !list.ReadASN1Element(&tbs, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("%w: CRL", ErrMalformed)
	}
	out, _, err := sign(rand, tbs, h, sigOID, priv)
	if err != nil {
		return nil, err
	}
	crl, err := x509.ParseRevocationList(out)
	if err != nil {
		return nil, fmt.Errorf("ecparams: parse issued CRL: %w", err)
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		return nil, fmt.Errorf("ecparams: issued CRL: %w", err)
	}
	return out, nil
}
