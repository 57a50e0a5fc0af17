package lds_test

import (
	"fmt"

	"github.com/cccd-project/cccd/personalization/lds"
	"github.com/cccd-project/cccd/smartcard/securityinfo"
)

func ExampleCOM_Encode() {
	com, _ := lds.NewCOM(1, 2, 3, 13, 14, 15)
	b, _ := com.Encode()
	fmt.Printf("%X\n", b)
	// Output: 60185F0104303130375F36063034303030305C066175636D6E6F
}

func ExampleEncodeDG1() {
	b, err := lds.EncodeDG1("IDVNM2030012345079203001234<<5" + "0304155M2804154VNM<<<<<<<<<<<0" + "NGUYEN<<VAN<AN<<<<<<<<<<<<<<<<")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("% X\n%s\n", b[:5], b[5:35])
	// Output:
	// 61 5D 5F 1F 5A
	// IDVNM2030012345079203001234<<5
}

func ExampleDG13_Encode() {
	d := lds.DG13{
		IDNumber: "001099012345", FullName: "Lê Thị Hoa", DateOfBirth: "01/02/1999", Sex: "Nữ",
		Nationality: "Việt Nam", Ethnicity: "Kinh", Religion: "Không", PlaceOfOrigin: "Hà Nội",
		PlaceOfResidence: "Hà Nội", IssueDate: "01/07/2024", ExpiryDate: "01/02/2039",
	}
	b, err := d.Encode()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("% X\n", b[:32])
	// Output: 6D 81 DF 30 81 DC 02 01 01 06 06 28 D3 16 01 00 08 31 81 CE 30 11 02 01 01 0C 0C 30 30 31 30 39
}

func ExampleEncodeCardAccess() {
	// PACE-ECDH-GM-AES-CBC-CMAC-128, version 2, brainpoolP256r1 (ICAO 9303-11 appendix G.1).
	infos := securityinfo.SecurityInfos{&securityinfo.PACEInfo{
		Protocol: securityinfo.OIDPACEECDHGMAES128, Version: 2,
		ParameterID: securityinfo.ParamBrainpoolP256r1, HasParameterID: true,
	}}
	ca, _ := lds.EncodeCardAccess(infos)
	dg14, _ := lds.EncodeDG14(infos)
	fmt.Printf("%X\n%X\n", ca, dg14)
	// Output:
	// 31143012060A04007F0007020204020202010202010D
	// 6E1631143012060A04007F0007020204020202010202010D
}

func ExampleDataGroupFile() {
	for _, n := range []int{1, 2, 13, 15} {
		f, _ := lds.DataGroupFile(n)
		fmt.Printf("%s FID %04X SFI %02X tag %02X\n", f.Name, f.FID, f.SFI, f.Tag)
	}
	// Output:
	// DG1 FID 0101 SFI 01 tag 61
	// DG2 FID 0102 SFI 02 tag 75
	// DG13 FID 010D SFI 0D tag 6D
	// DG15 FID 010F SFI 0F tag 6F
}
