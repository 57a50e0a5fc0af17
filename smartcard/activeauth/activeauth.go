// Package activeauth implements Active Authentication (ICAO 9303-11 §6.1): the terminal sends
// a random challenge with INTERNAL AUTHENTICATE and checks the chip's signature with the
// public key from DG15, which proves the chip holds the private key (a cloned chip cannot).
// ECDSA signatures use the plain r||s format of BSI TR-03111 over the hash named by the
// ActiveAuthenticationInfo in DG14; RSA signatures use ISO/IEC 9796-2 digital signature
// scheme 1 with partial message recovery. Sign is the chip side of the same protocol.
package activeauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/securityinfo"
)

// ChallengeSize is the length of the terminal's challenge (M2), ICAO 9303-11 §6.1.
const ChallengeSize = 8

// ErrSignature is returned when the chip's signature does not verify under the DG15 key:
// the chip does not hold the document's private key (a clone, or a substituted DG15).
var ErrSignature = errors.New("activeauth: signature does not verify")

// maxShortSigned is the longest signature asked for with a short Le: 223 bytes still fit a
// 256-byte response after secure messaging adds DO'87', DO'99' and DO'8E'.
const maxShortSigned = 0xDF

// DefaultHash is the ECDSA hash used when no ActiveAuthenticationInfo is given.
const DefaultHash = crypto.SHA256

// Authenticate runs Active Authentication as the terminal: it reads an 8-byte challenge from
// rnd, sends INTERNAL AUTHENTICATE (00 88 00 00; extended Le for RSA keys above 1784 bits)
// and verifies the response under pub
// (*ecdsa.PublicKey or *rsa.PublicKey, from DG15). info (from DG14) names the ECDSA hash; nil
// means SHA-256. A signature that does not verify gives an error wrapping ErrSignature.
func Authenticate(ctx context.Context, t apdu.Transmitter, pub crypto.PublicKey, info *securityinfo.ActiveAuthenticationInfo, rnd io.Reader) error {
	h := DefaultHash
	if info != nil {
		var err error
		if h, err = securityinfo.SignatureHash(info.SignatureAlgorithm); err != nil {
			return fmt.Errorf("activeauth: %w", err)
		}
	}
	var sigLen int
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		sigLen = 2 * ((k.Curve.Params().N.BitLen() + 7) / 8)
	case *rsa.PublicKey:
		sigLen = (k.N.BitLen() + 7) / 8
	default:
		return fmt.Errorf("activeauth: unsupported public key type %T", pub)
	}
	challenge := make([]byte, ChallengeSize)
	if _, err := io.ReadFull(rnd, challenge); err != nil {
		return fmt.Errorf("activeauth: random: %w", err)
	}
	cmd := apdu.Command{INS: 0x88, Data: challenge, Ne: apdu.MaxShortLe}
	if sigLen > maxShortSigned {
		// The signature would not fit a short response once secure messaging wraps it.
		cmd.Ne, cmd.Extended = apdu.MaxExtendedLe, true
	}
	sig, err := apdu.Run(ctx, t, cmd)
	if err != nil {
		return fmt.Errorf("activeauth: internal authenticate: %w", err)
	}
	return Verify(pub, challenge, sig, h)
}

// Verify checks an Active Authentication signature over challenge: for ECDSA a plain r||s
// signature over h(challenge); for RSA an ISO/IEC 9796-2 scheme 1 signature with message
// M1 || challenge, the hash taken from the trailer. It returns an error wrapping ErrSignature
// when the signature is wrong.
func Verify(pub crypto.PublicKey, challenge, sig []byte, h crypto.Hash) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return verifyECDSA(k, challenge, sig, h)
	case *rsa.PublicKey:
		return verifyRSA(k, challenge, sig)
	}
	return fmt.Errorf("activeauth: unsupported public key type %T", pub)
}

func verifyECDSA(k *ecdsa.PublicKey, challenge, sig []byte, h crypto.Hash) error {
	if !h.Available() {
		return fmt.Errorf("activeauth: hash %v not available", h)
	}
	n := (k.Curve.Params().N.BitLen() + 7) / 8
	if len(sig) != 2*n {
		return fmt.Errorf("%w: ECDSA signature of %d bytes, want %d", ErrSignature, len(sig), 2*n)
	}
	r, s := new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])
	hh := h.New()
	hh.Write(challenge)
	if !ecdsa.Verify(k, hh.Sum(nil), r, s) {
		return fmt.Errorf("%w: ECDSA", ErrSignature)
	}
	return nil
}

// Sign is the chip side of Active Authentication: it signs the terminal's challenge with the
// chip's Active Authentication key. An ECDSA key gives the plain r||s signature over
// h(challenge) (h as named in DG14's ActiveAuthenticationInfo); an *rsa.PrivateKey gives an
// ISO/IEC 9796-2 scheme 1 signature with a random M1 and h in the trailer. The signature is
// verified before it is returned, so a faulty signer (an HSM returning garbage) is caught here.
func Sign(key crypto.Signer, challenge []byte, h crypto.Hash) ([]byte, error) {
	if len(challenge) == 0 {
		return nil, errors.New("activeauth: empty challenge")
	}
	var sig []byte
	var err error
	switch pub := key.Public().(type) {
	case *ecdsa.PublicKey:
		sig, err = signECDSA(key, pub, challenge, h)
	case *rsa.PublicKey:
		priv, ok := key.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("activeauth: RSA signer %T cannot do raw ISO/IEC 9796-2 signatures", key)
		}
		sig, err = signRSA(priv, challenge, h)
	default:
		return nil, fmt.Errorf("activeauth: unsupported key type %T", pub)
	}
	if err != nil {
		return nil, err
	}
	if err := Verify(key.Public(), challenge, sig, h); err != nil {
		return nil, fmt.Errorf("activeauth: signer produced a bad signature: %w", err)
	}
	return sig, nil
}
