package cmac

import (
	"bytes"
	"crypto/des"
	"testing"

	"github.com/cccd-project/cccd/smartcard/icaotest"
)

// TestRFC4493 checks the four examples of RFC 4493 §4 and the NIST SP 800-38B
// (appendix D) AES-192 and AES-256 examples.
func TestRFC4493(t *testing.T) {
	const (
		k128 = "2b7e151628aed2a6abf7158809cf4f3c"
		k192 = "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b"
		k256 = "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4"
		m64  = "6bc1bee22e409f96e93d7e117393172a"
		m320 = m64 + "ae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411"
		m512 = m64 + "ae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"
	)
	tests := []struct {
		name, key, msg, want string
	}{
		{"aes128 empty", k128, "", "bb1d6929e95937287fa37d129b756746"},
		{"aes128 16 bytes", k128, m64, "070a16b46b4d4144f79bdd9dd04a287c"},
		{"aes128 40 bytes", k128, m320, "dfa66747de9ae63030ca32611497c827"},
		{"aes128 64 bytes", k128, m512, "51f0bebf7e3b9d92fc49741779363cfe"},
		{"aes192 empty", k192, "", "d17ddf46adaacde531cac483de7a9367"},
		{"aes192 64 bytes", k192, m512, "a1d5df0eed790f794d77589659f39a11"},
		{"aes256 empty", k256, "", "028962f61b7bf89efc6b551f4667d983"},
		{"aes256 64 bytes", k256, m512, "e1992190549f6ed5696a2c056c315410"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Sum(icaotest.Unhex(t, tc.key), icaotest.Unhex(t, tc.msg))
			if err != nil {
				t.Fatal(err)
			}
			if want := icaotest.Unhex(t, tc.want); !bytes.Equal(got, want) {
				t.Fatalf("Sum = %x, want %x", got, want)
			}
		})
	}
}

func TestSumBadKey(t *testing.T) {
	if _, err := Sum(make([]byte, 15), nil); err == nil {
		t.Fatal("Sum accepted a 15-byte key")
	}
	b, err := des.NewCipher(make([]byte, 8))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SumBlock(b, nil); err == nil {
		t.Fatal("SumBlock accepted a 64-bit block cipher")
	}
}

func BenchmarkSum1K(b *testing.B) {
	key := make([]byte, 16)
	msg := make([]byte, 1024)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := Sum(key, msg); err != nil {
			b.Fatal(err)
		}
	}
}
