package sm_test

import (
	"encoding/hex"
	"fmt"

	"github.com/cccd-project/cccd/smartcard/apdu"
	"github.com/cccd-project/cccd/smartcard/sm"
)

// The protected SELECT EF.COM of ICAO 9303-11 appendix D.4.
func ExampleSession_ProtectCommand() {
	ksEnc, _ := hex.DecodeString("979EC13B1CBFE9DCD01AB0FED307EAE5")
	ksMAC, _ := hex.DecodeString("F1CB1F1FB5ADF208806B89DC579DC1F8")
	ssc, _ := hex.DecodeString("887022120C06C226")
	s, err := sm.NewSession(sm.TDES, ksEnc, ksMAC, ssc)
	if err != nil {
		fmt.Println(err)
		return
	}
	pc, err := s.ProtectCommand(apdu.Command{INS: 0xA4, P1: 0x02, P2: 0x0C, Data: []byte{0x01, 0x1E}})
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := pc.Bytes()
	fmt.Printf("%X\n", b)
	// Output: 0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800
}
