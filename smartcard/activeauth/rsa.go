package activeauth

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"fmt"
	"io"
	"math/big"
)

// ISO/IEC 9796-2 scheme 1 constants (ICAO 9303-11 §6.1.2).
const (
	headerPartial   = 0x6A // 01 header, 1 = partial recovery, padding nibble A
	trailerSHA1     = 0xBC // implicit SHA-1
	trailerExplicit = 0xCC // second trailer byte when the hash is named
)

// hashIDs are the ISO/IEC 10118-3 hash identifiers of the explicit trailer (hash id || CC).
var hashIDs = map[byte]crypto.Hash{
	0x33: crypto.SHA1,
	0x34: crypto.SHA256,
	0x35: crypto.SHA512,
	0x36: crypto.SHA384,
	0x38: crypto.SHA224,
}

// recoveryLayout returns the representative length and the lengths of M1 and the trailer.
func recoveryLayout(n *big.Int, hashLen, trailerLen int) (k, m1Len int, err error) {
	k = (n.BitLen() + 7) / 8
	m1Len = k - 1 - hashLen - trailerLen
	if n.BitLen()%8 != 0 || m1Len < 1 {
		return 0, 0, fmt.Errorf("activeauth: RSA modulus of %d bits not usable for ISO/IEC 9796-2", n.BitLen())
	}
	return k, m1Len, nil
}

// signRSA builds F = 6A || M1 || h(M1 || challenge) || trailer with a random M1 that fills the
// capacity and returns F^d mod n. The private operation uses math/big (not constant time):
// it is meant for virtual chips and tests, where the key is not a production secret.
func signRSA(priv *rsa.PrivateKey, challenge []byte, h crypto.Hash) ([]byte, error) {
	if !h.Available() {
		return nil, fmt.Errorf("activeauth: hash %v not available", h)
	}
	trailer := []byte{trailerSHA1}
	if h != crypto.SHA1 {
		trailer = nil
		for id, hh := range hashIDs {
			if hh == h {
				trailer = []byte{id, trailerExplicit}
			}
		}
		if trailer == nil {
			return nil, fmt.Errorf("activeauth: hash %v has no ISO/IEC 9796-2 identifier", h)
		}
	}
	k, m1Len, err := recoveryLayout(priv.N, h.Size(), len(trailer))
	if err != nil {
		return nil, err
	}
	m1 := make([]byte, m1Len)
	if _, err := io.ReadFull(rand.Reader, m1); err != nil {
		return nil, fmt.Errorf("activeauth: random: %w", err)
	}
	hh := h.New()
	hh.Write(m1)
	hh.Write(challenge)
	f := make([]byte, 0, k)
	f = append(f, headerPartial)
	f = append(f, m1...)
	f = hh.Sum(f)
	f = append(f, trailer...)
	return rawPrivate(priv, new(big.Int).SetBytes(f)).FillBytes(make([]byte, k)), nil
}

// rawPrivate computes c^d mod n, with the Chinese remainder theorem for a two-prime key.
func rawPrivate(priv *rsa.PrivateKey, c *big.Int) *big.Int {
	if len(priv.Primes) != 2 {
		return new(big.Int).Exp(c, priv.D, priv.N)
	}
	one := big.NewInt(1)
	p, q := priv.Primes[0], priv.Primes[1]
	dp := new(big.Int).Mod(priv.D, new(big.Int).Sub(p, one))
	dq := new(big.Int).Mod(priv.D, new(big.Int).Sub(q, one))
	qinv := new(big.Int).ModInverse(q, p)
	m1 := new(big.Int).Exp(c, dp, p)
	m2 := new(big.Int).Exp(c, dq, q)
	h := m1.Sub(m1, m2)
	h.Mul(h, qinv).Mod(h, p)
	return h.Mul(h, q).Add(h, m2)
}

// verifyRSA recovers F = sig^e mod n (or n - F, the alternative representative) and checks header,
// trailer and h(M1 || challenge).
func verifyRSA(pub *rsa.PublicKey, challenge, sig []byte) error {
	k := (pub.N.BitLen() + 7) / 8
	if len(sig) != k {
		return fmt.Errorf("%w: RSA signature of %d bytes, want %d", ErrSignature, len(sig), k)
	}
	s := new(big.Int).SetBytes(sig)
	if s.Cmp(pub.N) >= 0 {
		return fmt.Errorf("%w: RSA signature not below the modulus", ErrSignature)
	}
	m := new(big.Int).Exp(s, big.NewInt(int64(pub.E)), pub.N)
	if m.Uint64()&0x0F != 0x0C { // the signer may have sent n - s^d
		m.Sub(pub.N, m)
	}
	f := m.FillBytes(make([]byte, k))
	var h crypto.Hash
	var trailerLen int
	switch {
	case f[k-1] == trailerSHA1:
		h, trailerLen = crypto.SHA1, 1
	case f[k-1] == trailerExplicit:
		var ok bool
		if h, ok = hashIDs[f[k-2]]; !ok {
			return fmt.Errorf("%w: unknown hash identifier %02X", ErrSignature, f[k-2])
		}
		trailerLen = 2
	default:
		return fmt.Errorf("%w: bad ISO/IEC 9796-2 trailer", ErrSignature)
	}
	if !h.Available() {
		return fmt.Errorf("activeauth: hash %v not available", h)
	}
	_, m1Len, err := recoveryLayout(pub.N, h.Size(), trailerLen)
	if err != nil {
		return err
	}
	if f[0] != headerPartial {
		return fmt.Errorf("%w: bad ISO/IEC 9796-2 header %02X", ErrSignature, f[0])
	}
	m1 := f[1 : 1+m1Len]
	digest := f[1+m1Len : 1+m1Len+h.Size()]
	hh := h.New()
	hh.Write(m1)
	hh.Write(challenge)
	if subtle.ConstantTimeCompare(hh.Sum(nil), digest) != 1 {
		return fmt.Errorf("%w: RSA digest", ErrSignature)
	}
	return nil
}
