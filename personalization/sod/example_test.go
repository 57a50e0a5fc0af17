package sod_test

import (
	"crypto"
	"fmt"
	"time"

	"github.com/cccd-project/cccd/personalization/lds/ldstest"
	"github.com/cccd-project/cccd/personalization/sod"
	"github.com/cccd-project/cccd/personalization/sod/sodtest"
)

func ExampleLDSSecurityObject_Marshal() {
	so := &sod.LDSSecurityObject{
		HashAlgorithm: crypto.SHA256,
		DataGroupHashes: []sod.DataGroupHash{
			{Number: 1, Hash: make([]byte, 32)},
			{Number: 13, Hash: make([]byte, 32)},
		},
	}
	der, err := so.Marshal()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("% X\n", der[:25])
	// Output: 30 60 02 01 00 30 0B 06 09 60 86 48 01 65 03 04 02 01 30 4E 30 25 02 01 01
}

func ExampleSign() {
	from := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	pki, _ := sodtest.NewPKI("VN", from)
	ds, _ := pki.NewDS("example", from, from.AddDate(10, 0, 0)) // in production: a key in the HSM
	_, _, dgs, _ := ldstest.Sample().Files()

	efSOD, err := sod.Sign(dgs, ds.Cert, ds.Key)
	if err != nil {
		fmt.Println(err)
		return
	}
	s, _ := sod.Parse(efSOD)
	signer, err := s.Verify()
	fmt.Printf("tag %02X, signed by %s, %v\n", efSOD[0], signer.Subject.CommonName, err)
	for _, h := range s.DataGroupHashes {
		fmt.Printf("DG%d %v %d bytes\n", h.Number, s.HashAlgorithm, len(h.Hash))
	}
	// Output:
	// tag 77, signed by DS example, <nil>
	// DG1 SHA-256 32 bytes
	// DG2 SHA-256 32 bytes
	// DG3 SHA-256 32 bytes
	// DG13 SHA-256 32 bytes
	// DG14 SHA-256 32 bytes
	// DG15 SHA-256 32 bytes
}
