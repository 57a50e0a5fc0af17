package sm

import (
	"crypto/cipher"
	"crypto/des"
	"errors"
	"fmt"

	"github.com/cccd-project/cccd/smartcard/cmac"
)

// MACSize is the length of the secure messaging MAC (DO'8E') and of PACE and Chip
// Authentication tokens: 8 bytes for both ciphers.
const MACSize = 8

// ErrPadding is returned when decrypted data does not end in ISO/IEC 9797-1 method 2 padding.
var ErrPadding = errors.New("sm: bad padding")

// Pad appends ISO/IEC 9797-1 padding method 2 (80 00 ...) up to a multiple of blockSize.
// It always adds at least one byte.
func Pad(b []byte, blockSize int) []byte {
	n := blockSize - len(b)%blockSize
	out := make([]byte, len(b), len(b)+n)
	copy(out, b)
	out = append(out, 0x80)
	return append(out, make([]byte, n-1)...)
}

// Unpad removes ISO/IEC 9797-1 padding method 2, returning ErrPadding when there is none.
func Unpad(b []byte) ([]byte, error) {
	for i := len(b) - 1; i >= 0; i-- {
		switch b[i] {
		case 0x00:
			continue
		case 0x80:
			return b[:i], nil
		}
		break
	}
	return nil, ErrPadding
}

// RetailMAC computes the ISO/IEC 9797-1 MAC algorithm 3 with DES and padding method 2
// (the "retail MAC" of ICAO 9303-11 §9.8) over msg with a 16-byte key K1||K2.
func RetailMAC(key, msg []byte) ([]byte, error) {
	if len(key) != 16 && len(key) != 24 {
		return nil, fmt.Errorf("sm: retail MAC key of %d bytes, want 16", len(key))
	}
	k1, err := des.NewCipher(key[:8])
	if err != nil {
		return nil, fmt.Errorf("sm: %w", err)
	}
	k2, err := des.NewCipher(key[8:16])
	if err != nil {
		return nil, fmt.Errorf("sm: %w", err)
	}
	return retailMAC(k1, k2, msg), nil
}

// retailMAC is RetailMAC with keyed DES ciphers.
func retailMAC(k1, k2 cipher.Block, msg []byte) []byte {
	p := Pad(msg, 8)
	cipher.NewCBCEncrypter(k1, make([]byte, 8)).CryptBlocks(p, p)
	x := p[len(p)-8:]
	k2.Decrypt(x, x)
	k1.Encrypt(x, x)
	return x
}

// MAC computes the 8-byte MAC of ICAO 9303-11 §9.8 (secure messaging) and §4.4 (PACE
// authentication token): the retail MAC for 3DES (msg padded), AES-CMAC truncated to 8 bytes
// for AES (msg taken as is; secure messaging pads before calling it).
func MAC(c Cipher, key, msg []byte) ([]byte, error) {
	switch c {
	case TDES:
		return RetailMAC(key, msg)
	case AES:
		t, err := cmac.Sum(key, msg)
		if err != nil {
			return nil, fmt.Errorf("sm: %w", err)
		}
		return t[:MACSize], nil
	}
	return nil, fmt.Errorf("sm: unknown cipher %d", c)
}

// tdesKey expands a two-key 3DES key K1||K2 to K1||K2||K1; a 24-byte key is used as is.
func tdesKey(k []byte) ([]byte, error) {
	switch len(k) {
	case 16:
		return append(append(make([]byte, 0, 24), k...), k[:8]...), nil
	case 24:
		return k, nil
	}
	return nil, fmt.Errorf("sm: 3DES key of %d bytes, want 16", len(k))
}

// NewBlock returns the block cipher for c keyed with key (3DES: 16 bytes two-key; AES:
// 16, 24 or 32 bytes).
func NewBlock(c Cipher, key []byte) (cipher.Block, error) {
	switch c {
	case TDES:
		k, err := tdesKey(key)
		if err != nil {
			return nil, err
		}
		b, err := des.NewTripleDESCipher(k)
		if err != nil {
			return nil, fmt.Errorf("sm: %w", err)
		}
		return b, nil
	case AES:
		return newAES(key)
	}
	return nil, fmt.Errorf("sm: unknown cipher %d", c)
}
