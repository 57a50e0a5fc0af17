package prep_test

import (
	"fmt"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/portrait"
	"github.com/cccd-project/cccd/personalization/prep"
)

// A card issued at 66 never expires: the MRZ expiry is six fillers (check digit 0),
// DG13 and the face say "Không thời hạn".
func ExamplePrepare() {
	jpeg, _ := portrait.Generate(3)
	app := issuance.Application{
		Person: issuance.Person{IDNumber: "038158000001", FullName: "Phạm Thị Thu", Sex: issuance.SexFemale,
			DateOfBirth: issuance.MustParseDate("1958-01-01")},
		Portrait: jpeg,
	}
	c, err := prep.Prepare(app, issuance.MustParseDate("2024-07-01"), "VN24A0000002")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.MRZLines[0])
	fmt.Println(c.MRZLines[1])
	fmt.Println(c.MRZLines[2])
	fmt.Println("CAN", c.CAN, "| expiry", c.Printed.ExpiryDate, "| issued", c.Printed.IssueDate)
	// Output:
	// IDVNM1580000011038158000001<<8
	// 5801017F<<<<<<0VNM<<<<<<<<<<<8
	// PHAM<<THI<THU<<<<<<<<<<<<<<<<<
	// CAN 000001 | expiry Không thời hạn | issued 01/07/2024
}
