package bp256_test

import (
	"encoding/hex"
	"fmt"

	"github.com/cccd-project/cccd/smartcard/bp256"
)

// ExampleP256r1 is the ECDH key agreement of RFC 7027 Appendix A.1: each side multiplies
// the other's public point by its private key, after checking that point.
func ExampleP256r1() {
	c := bp256.P256r1()
	dA, _ := hex.DecodeString("81DB1EE100150FF2EA338D708271BE38300CB54241D79950F77B063039804F1D")
	dB, _ := hex.DecodeString("55E40BC41E37E3E2AD25C3C6654511FFA8474A91A0032087593852D3E7D76BD3")
	xB, yB := c.ScalarBaseMult(dB)
	if !c.IsOnCurve(xB, yB) {
		return
	}
	x, _ := c.ScalarMult(xB, yB, dA)
	fmt.Println(c.Params().Name)
	fmt.Printf("%X\n", x)
	// Output:
	// brainpoolP256r1
	// 89AFC39D41D3B327814B80940B042590F96556EC91E6AE7939BCE31F3A18BF2B
}
