package activeauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// signECDSA signs h(challenge) and converts the signer's ASN.1 signature to plain r||s
// (BSI TR-03111 §5.2.1), each half as long as the group order.
func signECDSA(key crypto.Signer, pub *ecdsa.PublicKey, challenge []byte, h crypto.Hash) ([]byte, error) {
	if !h.Available() {
		return nil, fmt.Errorf("activeauth: hash %v not available", h)
	}
	hh := h.New()
	hh.Write(challenge)
	der, err := key.Sign(rand.Reader, hh.Sum(nil), h)
	if err != nil {
		return nil, fmt.Errorf("activeauth: sign: %w", err)
	}
	r, s := new(big.Int), new(big.Int)
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() ||
		!seq.ReadASN1Integer(r) || !seq.ReadASN1Integer(s) || !seq.Empty() {
		return nil, fmt.Errorf("activeauth: signer returned a malformed ECDSA signature")
	}
	n := (pub.Curve.Params().N.BitLen() + 7) / 8
	if r.Sign() <= 0 || s.Sign() <= 0 || r.BitLen() > 8*n || s.BitLen() > 8*n {
		return nil, fmt.Errorf("activeauth: signer returned an out-of-range ECDSA signature")
	}
	sig := make([]byte, 2*n)
	r.FillBytes(sig[:n])
	s.FillBytes(sig[n:])
	return sig, nil
}
