package pace_test

import (
	"fmt"

	"github.com/cccd-project/cccd/smartcard/pace"
)

func ExampleMRZInformation() {
	info, err := pace.MRZInformation("T22000129", "640812", "101031")
	if err != nil {
		fmt.Println(err)
		return
	}
	pw := pace.Password{Kind: pace.MRZ, Value: info}
	fmt.Println(string(info), pw)
	// Output: T22000129364081251010318 MRZ password
}
