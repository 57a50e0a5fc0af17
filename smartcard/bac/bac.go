// Package bac implements Basic Access Control (ICAO 9303-11 §4.3 and appendix D) on both
// sides: the terminal derives the document basic access keys from the MRZ, runs GET
// CHALLENGE and EXTERNAL AUTHENTICATE through an apdu.Transmitter and opens a 3DES secure
// messaging session; the chip side checks the terminal's cryptogram and answers its own.
// BAC is the fallback to PACE: its keys have little entropy, so chips must rate-limit it.
package bac

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/sha1"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/sm"
)

// Lengths of ICAO 9303-11 §4.3.
const (
	SeedSize      = 16 // K_seed
	ChallengeSize = 8  // RND.IC, RND.IFD
	keySize       = 16 // K.IFD, K.IC
	cryptoSize    = 2*ChallengeSize + keySize
	authSize      = cryptoSize + sm.MACSize // E || M, 40 bytes
)

// Errors of BAC.
var (
	// ErrAuthentication is returned by Chip.ExternalAuthenticate for a terminal cryptogram
	// that does not verify (wrong MRZ keys, or a replayed challenge): the chip answers 6300.
	ErrAuthentication = errors.New("bac: terminal authentication failed")
	// ErrNoChallenge is returned by Chip.ExternalAuthenticate when no unused GET CHALLENGE
	// preceded it.
	ErrNoChallenge = errors.New("bac: no challenge outstanding")
	// ErrChipCryptogram is returned by Authenticate when the chip's answer does not verify
	// (wrong MAC, or RND.IC / RND.IFD not echoed): a chip without the right keys or an attack.
	ErrChipCryptogram = errors.New("bac: chip cryptogram does not verify")
	// ErrRejected is returned by Authenticate when the chip refuses EXTERNAL AUTHENTICATE
	// (usually 6300: the MRZ data do not match the chip).
	ErrRejected = errors.New("bac: chip rejected the access keys")
)

// MRZInformation returns the MRZ information of ICAO 9303-11 §4.3 (and §4.4 for PACE):
// document number (padded with '<' to 9 characters) + check digit, date of birth YYMMDD +
// check digit, date of expiry YYMMDD + check digit. Check digits are computed (ICAO
// 9303-3 §4.9).
func MRZInformation(docNumber, birthYYMMDD, expiryYYMMDD string) (string, error) {
	if docNumber == "" {
		return "", errors.New("bac: document number is empty")
	}
	for _, r := range docNumber {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r == '<') {
			return "", fmt.Errorf("bac: document number %q: character %q not in 0-9 A-Z <", docNumber, r)
		}
	}
	for _, d := range []struct{ name, v string }{{"date of birth", birthYYMMDD}, {"date of expiry", expiryYYMMDD}} {
		if len(d.v) != 6 {
			return "", fmt.Errorf("bac: %s %q: want 6 digits YYMMDD", d.name, d.v)
		}
		for _, r := range d.v {
			if r < '0' || r > '9' {
				return "", fmt.Errorf("bac: %s %q: want 6 digits YYMMDD", d.name, d.v)
			}
		}
	}
	for len(docNumber) < 9 {
		docNumber += "<"
	}
	var b []byte
	for _, f := range []string{docNumber, birthYYMMDD, expiryYYMMDD} {
		b = append(b, f...)
		b = append(b, checkDigit(f))
	}
	return string(b), nil
}

// checkDigit computes the ICAO 9303-3 §4.9 check digit (weights 7, 3, 1) of a field
// already validated to hold 0-9, A-Z and '<'.
func checkDigit(s string) byte {
	weights := [3]int{7, 3, 1}
	sum := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		v := 0
		switch {
		case c >= '0' && c <= '9':
			v = int(c - '0')
		case c >= 'A' && c <= 'Z':
			v = int(c-'A') + 10
		}
		sum += v * weights[i%3]
	}
	return byte('0' + sum%10)
}

// KeySeed returns K_seed, the first 16 bytes of SHA-1 over the MRZ information
// (ICAO 9303-11 §9.7.2).
func KeySeed(docNumber, birthYYMMDD, expiryYYMMDD string) ([]byte, error) {
	info, err := MRZInformation(docNumber, birthYYMMDD, expiryYYMMDD)
	if err != nil {
		return nil, err
	}
	h := sha1.Sum([]byte(info))
	return h[:SeedSize], nil
}

// Keys derives the document basic access keys K_Enc and K_MAC from K_seed (ICAO 9303-11
// §9.7.2, §9.7.1).
func Keys(seed []byte) (kEnc, kMAC []byte) {
	return sm.KDF(seed, sm.TDES, 112, sm.KDFEnc), sm.KDF(seed, sm.TDES, 112, sm.KDFMAC)
}

// keys holds the keyed primitives of one side of the protocol.
type keys struct {
	enc  cipher.Block
	kMAC []byte
}

func newKeys(seed []byte) (keys, error) {
	if len(seed) != SeedSize {
		return keys{}, fmt.Errorf("bac: key seed of %d bytes, want %d", len(seed), SeedSize)
	}
	kEnc, kMAC := Keys(seed)
	enc, err := sm.NewBlock(sm.TDES, kEnc)
	if err != nil {
		return keys{}, fmt.Errorf("bac: %w", err)
	}
	return keys{enc: enc, kMAC: kMAC}, nil
}

// seal returns E = 3DES-CBC(K_Enc, IV 0, s) || M = retail MAC(K_MAC, E), §4.3.
func (k keys) seal(s []byte) ([]byte, error) {
	e := make([]byte, len(s), len(s)+sm.MACSize)
	cipher.NewCBCEncrypter(k.enc, make([]byte, 8)).CryptBlocks(e, s)
	m, err := sm.RetailMAC(k.kMAC, e)
	if err != nil {
		return nil, fmt.Errorf("bac: %w", err)
	}
	return append(e, m...), nil
}

// open checks M and decrypts E of a 40-byte E || M; ok is false for a wrong MAC.
func (k keys) open(em []byte) (plain []byte, ok bool, err error) {
	if len(em) != authSize {
		return nil, false, fmt.Errorf("bac: cryptogram of %d bytes, want %d", len(em), authSize)
	}
	e, m := em[:cryptoSize], em[cryptoSize:]
	want, err := sm.RetailMAC(k.kMAC, e)
	if err != nil {
		return nil, false, fmt.Errorf("bac: %w", err)
	}
	if subtle.ConstantTimeCompare(m, want) != 1 {
		return nil, false, nil
	}
	plain = make([]byte, cryptoSize)
	cipher.NewCBCDecrypter(k.enc, make([]byte, 8)).CryptBlocks(plain, e)
	return plain, true, nil
}

// session derives the session keys from K.IFD xor K.IC and the SSC from the low halves of
// RND.IC and RND.IFD (§9.7, appendix D.3).
func session(kIFD, kIC, rndIC, rndIFD []byte) (*sm.Session, error) {
	seed := make([]byte, keySize)
	subtle.XORBytes(seed, kIFD, kIC)
	ssc := append(append(make([]byte, 0, 8), rndIC[4:8]...), rndIFD[4:8]...)
	s, err := sm.NewSession(sm.TDES, sm.KDF(seed, sm.TDES, 112, sm.KDFEnc), sm.KDF(seed, sm.TDES, 112, sm.KDFMAC), ssc)
	if err != nil {
		return nil, fmt.Errorf("bac: %w", err)
	}
	return s, nil
}

// Authenticate runs BAC as the terminal (ICAO 9303-11 §4.3): GET CHALLENGE, then
// EXTERNAL AUTHENTICATE with E.IFD || M.IFD built from RND.IFD and K.IFD (read from rnd in
// that order, 8 + 16 bytes), then
// it verifies the chip's cryptogram and returns the secure messaging session. A chip that
// refuses the keys gives an error wrapping ErrRejected and the apdu.StatusError; a chip
// answer that does not verify gives ErrChipCryptogram.
func Authenticate(ctx context.Context, t apdu.Transmitter, seed []byte, rnd io.Reader) (*sm.Session, error) {
	k, err := newKeys(seed)
	if err != nil {
		return nil, err
	}
	rndIC, err := apdu.Run(ctx, t, apdu.Command{INS: 0x84, Ne: ChallengeSize})
	if err != nil {
		return nil, fmt.Errorf("bac: get challenge: %w", err)
	}
	if len(rndIC) != ChallengeSize {
		return nil, fmt.Errorf("bac: get challenge returned %d bytes, want %d", len(rndIC), ChallengeSize)
	}
	ifd := make([]byte, ChallengeSize+keySize) // RND.IFD || K.IFD
	if _, err := io.ReadFull(rnd, ifd); err != nil {
		return nil, fmt.Errorf("bac: random: %w", err)
	}
	rndIFD, kIFD := ifd[:ChallengeSize], ifd[ChallengeSize:]
	s := make([]byte, 0, cryptoSize)
	s = append(append(append(s, rndIFD...), rndIC...), kIFD...)
	data, err := k.seal(s)
	if err != nil {
		return nil, err
	}
	resp, err := apdu.Run(ctx, t, apdu.Command{INS: 0x82, Data: data, Ne: authSize})
	if err != nil {
		var se apdu.StatusError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%w: %w", ErrRejected, err)
		}
		return nil, fmt.Errorf("bac: external authenticate: %w", err)
	}
	r, ok, err := k.open(resp)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrChipCryptogram, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: MAC", ErrChipCryptogram)
	}
	// R = RND.IC || RND.IFD || K.IC
	if !bytes.Equal(r[:8], rndIC) || !bytes.Equal(r[8:16], rndIFD) {
		return nil, fmt.Errorf("%w: nonces not echoed", ErrChipCryptogram)
	}
	return session(kIFD, r[16:], rndIC, rndIFD)
}
