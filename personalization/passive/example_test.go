package passive_test

import (
	"fmt"
	"time"

	"github.com/cccd-project/cccd/hsm/pki/trust"
	"github.com/cccd-project/cccd/personalization/lds/ldstest"
	"github.com/cccd-project/cccd/personalization/passive"
	"github.com/cccd-project/cccd/personalization/sod"
	"github.com/cccd-project/cccd/personalization/sod/sodtest"
)

func ExampleVerify() {
	// Issuer side: a CSCA, a Document Signer, and the sample card's EF.SOD.
	from := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	pki, _ := sodtest.NewPKI("VN", from)
	ds, _ := pki.NewDS("example", from, from.AddDate(10, 0, 0))
	_, _, dgs, _ := ldstest.Sample().Files()
	efSOD, _ := sod.Sign(dgs, ds.Cert, ds.Key)

	// Reader side: trusts the CSCA, read every data group but DG3 (behind EAC), one of them altered.
	store := trust.New()
	_ = store.AddCSCA(pki.CSCA)
	read := map[int][]byte{1: dgs[1], 2: dgs[2], 13: append([]byte{}, dgs[13]...), 14: dgs[14], 15: dgs[15]}
	read[13][30] ^= 1

	res, err := passive.Verify(efSOD, read, store, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	fmt.Println(err)
	fmt.Println(res.CSCASubject)
	for _, d := range res.DataGroups {
		fmt.Printf("DG%d %v\n", d.Number, d.Status)
	}
	// Output:
	// passive: dg13 hash does not match EF.SOD
	// CN=CSCA VN,O=cccd test,C=VN
	// DG1 valid
	// DG2 valid
	// DG3 not read
	// DG13 hash mismatch
	// DG14 valid
	// DG15 valid
}
