package lds

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"fmt"

	"github.com/cccd-project/cccd/hsm/pki/ecparams"
	"github.com/cccd-project/cccd/smartcard/securityinfo"
	"github.com/cccd-project/cccd/smartcard/tlv"
)

// EncodeDG14 returns DG14, the DER SecurityInfos for PACE, Chip Authentication and Active
// Authentication wrapped in tag 6E (ICAO 9303-10 §4.7.14, 9303-11 §9.2). The SET OF is
// written in DER order.
func EncodeDG14(infos securityinfo.SecurityInfos) ([]byte, error) {
	der, err := marshalInfos(infos)
	if err != nil {
		return nil, invalid("dg14: %w", err)
	}
	return tlv.Encode(0x6E, der), nil
}

// ParseDG14 decodes DG14: tag 6E around SecurityInfos (ICAO 9303-11 §9.2), parsed with
// securityinfo.Parse. At least one SecurityInfo must be present.
func ParseDG14(b []byte) (securityinfo.SecurityInfos, error) {
	v, err := unwrap(b, 0x6E, "dg14")
	if err != nil {
		return nil, err
	}
	infos, err := parseInfos(v)
	if err != nil {
		return nil, malformed("dg14: %w", err)
	}
	return infos, nil
}

// EncodeCardAccess returns EF.CardAccess: the DER SecurityInfos with no wrapper
// (ICAO 9303-10 §3.11.5, 9303-11 §9.2).
func EncodeCardAccess(infos securityinfo.SecurityInfos) ([]byte, error) {
	der, err := marshalInfos(infos)
	if err != nil {
		return nil, invalid("ef.cardaccess: %w", err)
	}
	return der, nil
}

// ParseCardAccess decodes EF.CardAccess, bare SecurityInfos (ICAO 9303-11 §9.2).
func ParseCardAccess(b []byte) (securityinfo.SecurityInfos, error) {
	infos, err := parseInfos(b)
	if err != nil {
		return nil, malformed("ef.cardaccess: %w", err)
	}
	return infos, nil
}

func marshalInfos(infos securityinfo.SecurityInfos) ([]byte, error) {
	if len(infos) == 0 {
		return nil, fmt.Errorf("no SecurityInfo")
	}
	return infos.Marshal()
}

func parseInfos(der []byte) (securityinfo.SecurityInfos, error) {
	infos, err := securityinfo.Parse(der)
	if err != nil {
		return nil, err
	}
	if len(infos) == 0 {
		return nil, fmt.Errorf("no SecurityInfo")
	}
	return infos, nil
}

// EncodeDG15 returns DG15, the Active Authentication public key as a DER SubjectPublicKeyInfo
// in tag 6F (ICAO 9303-10 §4.7.15, 9303-11 §6.1). The key must be ECDSA (P-256 on these
// cards) or RSA.
func EncodeDG15(pub crypto.PublicKey) ([]byte, error) {
	switch pub.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey:
	default:
		return nil, invalid("dg15: key of type %T, want ECDSA or RSA", pub)
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, invalid("dg15: %w", err)
	}
	return tlv.Encode(0x6F, spki), nil
}

// ParseDG15 decodes DG15 and returns the Active Authentication public key, an
// *ecdsa.PublicKey or an *rsa.PublicKey.
func ParseDG15(b []byte) (crypto.PublicKey, error) {
	v, err := unwrap(b, 0x6F, "dg15")
	if err != nil {
		return nil, err
	}
	pub, err := ecparams.ParsePKIXPublicKey(v) // explicit EC parameters too
	if err != nil {
		return nil, malformed("dg15: %w", err)
	}
	switch pub.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey:
		return pub, nil
	}
	return nil, malformed("dg15: key of type %T, want ECDSA or RSA", pub)
}
