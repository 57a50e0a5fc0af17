// Package sm implements ICAO 9303-11 secure messaging (§9.8) for both ends of the
// contactless link: the terminal protects commands and unprotects responses, the chip
// unprotects commands and protects responses. It also holds the key derivation
// function (§9.7.1), the block padding and the MACs that BAC, PACE and Chip
// Authentication share. It does no I/O except through an apdu.Transmitter.
package sm

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
)

// Cipher selects the block cipher of a secure messaging session.
type Cipher int

// Ciphers of ICAO 9303-11 §9.8: two-key 3DES in CBC mode with the retail MAC, or AES
// in CBC mode with AES-CMAC.
const (
	TDES Cipher = iota + 1
	AES
)

func (c Cipher) String() string {
	switch c {
	case TDES:
		return "3DES"
	case AES:
		return "AES"
	}
	return "unknown cipher"
}

// BlockSize returns the cipher's block size in bytes (8 or 16), or 0 for an unknown cipher.
func (c Cipher) BlockSize() int {
	switch c {
	case TDES:
		return 8
	case AES:
		return 16
	}
	return 0
}

// Counters of the key derivation function, ICAO 9303-11 §9.7.1.
const (
	KDFEnc uint32 = 1 // session encryption key
	KDFMAC uint32 = 2 // session MAC key
	KDFPi  uint32 = 3 // PACE password key K_pi
)

// KDF derives a key from a shared secret, ICAO 9303-11 §9.7.1: the hash of
// secret || counter (32-bit big endian), SHA-1 for 3DES and AES-128, SHA-256 for
// AES-192 and AES-256, cut to the key length. 3DES keys are two-key (16 bytes, keyBits
// 112 or 128) with DES parity adjusted. It returns nil for a cipher/keyBits pair the
// spec does not define.
func KDF(secret []byte, c Cipher, keyBits int, counter uint32) []byte {
	var ctr [4]byte
	binary.BigEndian.PutUint32(ctr[:], counter)
	data := make([]byte, 0, len(secret)+4)
	data = append(append(data, secret...), ctr[:]...)
	switch {
	case c == TDES && (keyBits == 112 || keyBits == 128):
		h := sha1.Sum(data)
		k := append([]byte(nil), h[:16]...)
		AdjustParity(k)
		return k
	case c == AES && keyBits == 128:
		h := sha1.Sum(data)
		return append([]byte(nil), h[:16]...)
	case c == AES && (keyBits == 192 || keyBits == 256):
		h := sha256.Sum256(data)
		return append([]byte(nil), h[:keyBits/8]...)
	}
	return nil
}

// AdjustParity sets the low bit of every byte of a DES key so that each byte has odd
// parity (FIPS 46-3), in place.
func AdjustParity(k []byte) {
	for i, b := range k {
		b &^= 1
		ones := 0
		for x := b; x != 0; x >>= 1 {
			ones += int(x & 1)
		}
		if ones%2 == 0 {
			b |= 1
		}
		k[i] = b
	}
}
