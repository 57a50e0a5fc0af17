// Package cmac computes AES-CMAC (RFC 4493, NIST SP 800-38B), the MAC that ICAO 9303-11
// secure messaging and PACE/Chip Authentication use with AES session keys (§9.8, §9.7).
package cmac

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"fmt"
)

// Size is the length of a full CMAC tag for a 128-bit block cipher.
const Size = 16

// Sum returns the full 16-byte AES-CMAC of msg under key (16, 24 or 32 bytes).
func Sum(key, msg []byte) ([]byte, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("cmac: %w", err)
	}
	return SumBlock(b, msg)
}

// SumBlock returns the CMAC of msg under an already keyed block cipher with a 128-bit
// block (AES), NIST SP 800-38B §6.2.
func SumBlock(b cipher.Block, msg []byte) ([]byte, error) {
	bs := b.BlockSize()
	if bs != Size {
		return nil, fmt.Errorf("cmac: block size %d, want %d", bs, Size)
	}
	const rb = 0x87 // R_128, NIST SP 800-38B §5.3
	// Subkeys, NIST SP 800-38B §6.1.
	l := make([]byte, bs)
	b.Encrypt(l, l)
	k1 := shiftXor(l, rb)
	k2 := shiftXor(k1, rb)

	n := (len(msg) + bs - 1) / bs
	complete := n > 0 && len(msg)%bs == 0
	if n == 0 {
		n = 1
	}
	last := make([]byte, bs)
	tail := msg[(n-1)*bs:]
	if complete {
		subtle.XORBytes(last, tail, k1)
	} else {
		copy(last, tail)
		last[len(tail)] = 0x80
		subtle.XORBytes(last, last, k2)
	}
	x := cbcMAC(b, msg[:(n-1)*bs])
	subtle.XORBytes(x, x, last)
	b.Encrypt(x, x)
	return x, nil
}

// cbcMAC returns the last block of the CBC encryption (IV zero) of whole blocks msg, or a
// zero block for an empty msg. It uses the CBC mode of crypto/cipher in chunks, which is
// much faster than block-by-block Encrypt calls for ciphers with assembly CBC.
func cbcMAC(b cipher.Block, msg []byte) []byte {
	bs := b.BlockSize()
	x := make([]byte, bs)
	if len(msg) == 0 {
		return x
	}
	const chunk = 4096
	buf := make([]byte, min(chunk, len(msg)))
	for len(msg) > 0 {
		n := min(chunk, len(msg))
		cipher.NewCBCEncrypter(b, x).CryptBlocks(buf[:n], msg[:n])
		copy(x, buf[n-bs:n])
		msg = msg[n:]
	}
	return x
}

// shiftXor returns in<<1, xored with rb in the last byte when the top bit of in was set.
func shiftXor(in []byte, rb byte) []byte {
	out := make([]byte, len(in))
	var carry byte
	for i := len(in) - 1; i >= 0; i-- {
		out[i] = in[i]<<1 | carry
		carry = in[i] >> 7
	}
	if in[0]&0x80 != 0 {
		out[len(out)-1] ^= rb
	}
	return out
}

// Equal reports in constant time whether two MACs are equal.
func Equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
