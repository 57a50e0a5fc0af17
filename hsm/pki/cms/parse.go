package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/cccd-project/cccd/hsm/pki/ecparams"
)

func malformed(what string) error { return fmt.Errorf("%w: %s", ErrMalformed, what) }

// Parse decodes a DER ContentInfo holding SignedData (RFC 5652 §3, §5). It is strict: DER
// only (no indefinite lengths), eContent must be present, signed attributes must be present
// with exactly one contentType and one messageDigest. Certificates are parsed with
// ecparams.ParseCertificate (crypto/x509, plus EC keys with explicit parameters). The structure is fixed-depth, so hostile nesting cannot recurse; inputs above
// MaxSize are refused.
func Parse(der []byte) (*SignedData, error) {
	if len(der) > MaxSize {
		return nil, malformed("larger than MaxSize")
	}
	in := cryptobyte.String(der)
	var ci, explicit, sd cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) || !in.Empty() {
		return nil, malformed("ContentInfo")
	}
	if !ci.ReadASN1ObjectIdentifier(&oid) || !oid.Equal(OIDSignedData) {
		return nil, malformed("contentType is not id-signedData")
	}
	if !ci.ReadASN1(&explicit, tagCtx0) || !ci.Empty() || !explicit.ReadASN1(&sd, cbasn1.SEQUENCE) || !explicit.Empty() {
		return nil, malformed("content")
	}
	out := &SignedData{}
	if !sd.ReadASN1Integer(&out.Version) || out.Version < 1 || out.Version > 5 {
		return nil, malformed("version")
	}
	var set cryptobyte.String
	if !sd.ReadASN1(&set, cbasn1.SET) {
		return nil, malformed("digestAlgorithms")
	}
	for !set.Empty() {
		oid, _, err := readAlgorithm(&set)
		if err != nil {
			return nil, fmt.Errorf("cms: digestAlgorithms: %w", err)
		}
		out.DigestAlgorithms = append(out.DigestAlgorithms, oid)
	}
	var eci, econtent cryptobyte.String
	if !sd.ReadASN1(&eci, cbasn1.SEQUENCE) || !eci.ReadASN1ObjectIdentifier(&out.ContentType) {
		return nil, malformed("encapContentInfo")
	}
	if !eci.ReadASN1(&econtent, tagCtx0) || !eci.Empty() ||
		!econtent.ReadASN1Bytes(&out.Content, cbasn1.OCTET_STRING) || !econtent.Empty() {
		return nil, malformed("eContent missing or not a primitive OCTET STRING")
	}
	var certs, crls cryptobyte.String
	var has bool
	if !sd.ReadOptionalASN1(&certs, &has, tagCtx0) {
		return nil, malformed("certificates")
	}
	for has && !certs.Empty() {
		var c cryptobyte.String
		if !certs.ReadASN1Element(&c, cbasn1.SEQUENCE) {
			return nil, malformed("certificates: only X.509 Certificate choices are supported")
		}
		cert, err := ecparams.ParseCertificate(c)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate: %w", ErrMalformed, err)
		}
		out.Certificates = append(out.Certificates, cert)
	}
	if !sd.ReadOptionalASN1(&crls, &has, tagCtx1) {
		return nil, malformed("crls")
	}
	for has && !crls.Empty() {
		var c cryptobyte.String
		var tag cbasn1.Tag
		if !crls.ReadAnyASN1Element(&c, &tag) {
			return nil, malformed("crls")
		}
		out.CRLs = append(out.CRLs, bytes.Clone(c))
	}
	if !sd.ReadASN1(&set, cbasn1.SET) || !sd.Empty() {
		return nil, malformed("signerInfos")
	}
	for !set.Empty() {
		var s cryptobyte.String
		if !set.ReadASN1(&s, cbasn1.SEQUENCE) {
			return nil, malformed("SignerInfo")
		}
		si, err := parseSignerInfo(s)
		if err != nil {
			return nil, err
		}
		out.Signers = append(out.Signers, *si)
	}
	if len(out.Signers) == 0 {
		return nil, malformed("no SignerInfo")
	}
	return out, nil
}

// readAlgorithm reads an AlgorithmIdentifier, returning the raw parameters (nil if absent).
func readAlgorithm(s *cryptobyte.String) (asn1.ObjectIdentifier, []byte, error) {
	var alg cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !s.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) {
		return nil, nil, malformed("AlgorithmIdentifier")
	}
	if alg.Empty() {
		return oid, nil, nil
	}
	var p cryptobyte.String
	var tag cbasn1.Tag
	if !alg.ReadAnyASN1Element(&p, &tag) || !alg.Empty() {
		return nil, nil, malformed("AlgorithmIdentifier parameters")
	}
	if tag == cbasn1.NULL {
		return oid, nil, nil
	}
	return oid, bytes.Clone(p), nil
}

func parseSignerInfo(s cryptobyte.String) (*SignerInfo, error) {
	si := &SignerInfo{}
	if !s.ReadASN1Integer(&si.Version) {
		return nil, malformed("SignerInfo version")
	}
	switch si.Version {
	case 1: // issuerAndSerialNumber
		var ias, issuer cryptobyte.String
		si.SerialNumber = new(big.Int)
		if !s.ReadASN1(&ias, cbasn1.SEQUENCE) || !ias.ReadASN1Element(&issuer, cbasn1.SEQUENCE) ||
			!ias.ReadASN1Integer(si.SerialNumber) || !ias.Empty() {
			return nil, malformed("issuerAndSerialNumber")
		}
		si.IssuerRaw = bytes.Clone(issuer)
	case 3: // subjectKeyIdentifier [0]
		if !s.ReadASN1Bytes(&si.SubjectKeyID, cbasn1.Tag(0).ContextSpecific()) {
			return nil, malformed("subjectKeyIdentifier")
		}
	default:
		return nil, malformed("SignerInfo version")
	}
	var err error
	if si.DigestAlgorithm, _, err = readAlgorithm(&s); err != nil {
		return nil, err
	}
	var attrs cryptobyte.String
	var has bool
	if !s.ReadOptionalASN1(&attrs, &has, tagCtx0) || !has {
		return nil, malformed("signedAttrs missing")
	}
	// RFC 5652 §5.4: the signature covers the attributes with an explicit SET OF tag.
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(attrs) })
	if si.SignedAttrs, err = b.Bytes(); err != nil {
		return nil, malformed("signedAttrs")
	}
	if err := si.parseAttributes(attrs); err != nil {
		return nil, err
	}
	if si.SignatureAlgorithm, si.SignatureParams, err = readAlgorithm(&s); err != nil {
		return nil, err
	}
	if !s.ReadASN1Bytes(&si.Signature, cbasn1.OCTET_STRING) {
		return nil, malformed("signature")
	}
	if !s.SkipOptionalASN1(tagCtx1) || !s.Empty() {
		return nil, malformed("trailing data in SignerInfo")
	}
	return si, nil
}

func (si *SignerInfo) parseAttributes(attrs cryptobyte.String) error {
	seen := map[string]bool{}
	for !attrs.Empty() {
		var a, vals cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !attrs.ReadASN1(&a, cbasn1.SEQUENCE) || !a.ReadASN1ObjectIdentifier(&oid) ||
			!a.ReadASN1(&vals, cbasn1.SET) || !a.Empty() {
			return malformed("attribute")
		}
		key := oid.String()
		if seen[key] {
			return malformed("duplicate attribute " + key)
		}
		seen[key] = true
		switch {
		case oid.Equal(OIDContentType):
			if !vals.ReadASN1ObjectIdentifier(&si.ContentType) || !vals.Empty() {
				return malformed("contentType attribute")
			}
		case oid.Equal(OIDMessageDigest):
			if !vals.ReadASN1Bytes(&si.MessageDigest, cbasn1.OCTET_STRING) || !vals.Empty() {
				return malformed("messageDigest attribute")
			}
		case oid.Equal(OIDSigningTime):
			var t time.Time
			switch {
			case vals.PeekASN1Tag(cbasn1.UTCTime):
				if !vals.ReadASN1UTCTime(&t) {
					return malformed("signingTime attribute")
				}
			case !vals.ReadASN1GeneralizedTime(&t):
				return malformed("signingTime attribute")
			}
			if !vals.Empty() {
				return malformed("signingTime attribute")
			}
			si.SigningTime = t
		}
	}
	if si.ContentType == nil || si.MessageDigest == nil {
		return malformed("contentType and messageDigest attributes are mandatory")
	}
	return nil
}

// Verify checks the single SignerInfo (ICAO 9303 requires exactly one): it finds the
// signer's certificate among Certificates, checks that the contentType attribute names the
// eContentType, that messageDigest is the hash of Content, and that the signature over the
// signed attributes verifies with the certificate's key. It does not judge the certificate
// itself (validity, chain, revocation): that is the trust store's job.
func (sd *SignedData) Verify() (*x509.Certificate, error) {
	if len(sd.Signers) != 1 {
		return nil, fmt.Errorf("%w: %d SignerInfos, want exactly one", ErrMalformed, len(sd.Signers))
	}
	si := &sd.Signers[0]
	cert := sd.signerCert(si)
	if cert == nil {
		return nil, ErrNoSigner
	}
	if !si.ContentType.Equal(sd.ContentType) {
		return nil, fmt.Errorf("%w: contentType attribute %v differs from eContentType %v", ErrMalformed, si.ContentType, sd.ContentType)
	}
	dh, err := hashFor(si.DigestAlgorithm)
	if err != nil {
		return nil, err
	}
	h := dh.New()
	h.Write(sd.Content)
	if !bytes.Equal(h.Sum(nil), si.MessageDigest) {
		return nil, ErrDigest
	}
	if err := si.checkSignature(cert.PublicKey, dh); err != nil {
		return nil, err
	}
	return cert, nil
}

func (sd *SignedData) signerCert(si *SignerInfo) *x509.Certificate {
	for _, c := range sd.Certificates {
		if si.Version == 1 && bytes.Equal(c.RawIssuer, si.IssuerRaw) && c.SerialNumber.Cmp(si.SerialNumber) == 0 {
			return c
		}
		if si.Version == 3 && len(si.SubjectKeyID) > 0 && bytes.Equal(c.SubjectKeyId, si.SubjectKeyID) {
			return c
		}
	}
	return nil
}

func (si *SignerInfo) checkSignature(pub crypto.PublicKey, digestHash crypto.Hash) error {
	a := si.SignatureAlgorithm
	var h crypto.Hash
	var pss *rsa.PSSOptions
	switch {
	case a.Equal(OIDECDSAWithSHA256), a.Equal(OIDSHA256WithRSA):
		h = crypto.SHA256
	case a.Equal(OIDECDSAWithSHA384), a.Equal(OIDSHA384WithRSA):
		h = crypto.SHA384
	case a.Equal(OIDECDSAWithSHA512), a.Equal(OIDSHA512WithRSA):
		h = crypto.SHA512
	case a.Equal(OIDRSAEncryption):
		h = digestHash
	case a.Equal(OIDRSASSAPSS):
		ph, salt, err := parsePSSParams(si.SignatureParams)
		if err != nil {
			return err
		}
		h, pss = ph, &rsa.PSSOptions{SaltLength: salt, Hash: ph}
	default:
		return fmt.Errorf("%w: signature %v", ErrUnsupported, a)
	}
	d := h.New()
	d.Write(si.SignedAttrs)
	digest := d.Sum(nil)
	isECDSA := a.Equal(OIDECDSAWithSHA256) || a.Equal(OIDECDSAWithSHA384) || a.Equal(OIDECDSAWithSHA512)
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if isECDSA && ecdsa.VerifyASN1(k, digest, si.Signature) {
			return nil
		}
	case *rsa.PublicKey:
		if isECDSA {
			break
		}
		var err error
		if pss != nil {
			err = rsa.VerifyPSS(k, h, digest, si.Signature, pss)
		} else {
			err = rsa.VerifyPKCS1v15(k, h, digest, si.Signature)
		}
		if err == nil {
			return nil
		}
	default:
		return fmt.Errorf("%w: signer key %T", ErrUnsupported, pub)
	}
	return ErrSignature
}
