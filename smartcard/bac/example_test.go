package bac_test

import (
	"fmt"

	"github.com/cccd-project/cccd/smartcard/bac"
)

// The MRZ information and key seed of ICAO 9303-11 appendix D.2.
func ExampleKeySeed() {
	info, err := bac.MRZInformation("L898902C", "690806", "940623")
	if err != nil {
		fmt.Println(err)
		return
	}
	seed, err := bac.KeySeed("L898902C", "690806", "940623")
	if err != nil {
		fmt.Println(err)
		return
	}
	kEnc, kMAC := bac.Keys(seed)
	fmt.Println(info)
	fmt.Printf("%X\n%X\n%X\n", seed, kEnc, kMAC)
	// Output:
	// L898902C<369080619406236
	// 239AB9CB282DAF66231DC5A4DF6BFBAE
	// AB94FDECF2674FDFB9B391F85D7F76F2
	// 7962D9ECE03D1ACD4C76089DCE131543
}
