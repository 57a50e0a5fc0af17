// Package icaotest holds what the tests of the smartcard packages share: the worked
// example of ICAO 9303-11 appendix D (Basic Access Control and 3DES secure messaging)
// and hex decoding of test vectors.
package icaotest

import (
	"encoding/hex"
	"strings"
	"testing"
)

// The worked example's values, in hex.
const (
	Seed     = "239AB9CB282DAF66231DC5A4DF6BFBAE" // K.seed from the MRZ information
	KEnc     = "AB94FDECF2674FDFB9B391F85D7F76F2" // document basic access keys
	KMAC     = "7962D9ECE03D1ACD4C76089DCE131543"
	RndIC    = "4608F91988702212"
	RndIFD   = "781723860C06C226"
	KIFD     = "0B795240CB7049B01C19B33E32804F0B"
	KIC      = "0B4F80323EB3191CB04970CB4052790B" // K.IFD xor K.IC is the session key seed
	ExtAuth  = "72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F25F1448EEA8AD90A7"
	Response = "46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F2F2D235D074D7449"
	KSEnc    = "979EC13B1CBFE9DCD01AB0FED307EAE5" // session keys
	KSMAC    = "F1CB1F1FB5ADF208806B89DC579DC1F8"
	SSC      = "887022120C06C226"
	Select   = "0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800" // protected SELECT EF.COM
	SelResp  = "990290008E08FA855A5D4C50A8ED9000"
)

// Unhex decodes s, hex digits that spaces may group, failing the test on bad hex.
func Unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}
