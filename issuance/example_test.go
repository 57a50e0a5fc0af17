package issuance_test

import (
	"errors"
	"fmt"

	"github.com/cccd-project/cccd/issuance"
)

func ExampleDecodeApplication() {
	_, err := issuance.DecodeApplication([]byte(`{"full_name":"Nguyễn Văn Đức","nick":"Tí"}`))
	fmt.Println(err)
	_, err = issuance.DecodeApplication([]byte(`{"date_of_birth":"1990-02-30"}`))
	fmt.Println(err)
	// Output:
	// issuance: nick: unknown field
	// issuance: date_of_birth: invalid date "1990-02-30": want a real date as YYYY-MM-DD
}

func ExampleApplication_Validate() {
	a, err := issuance.DecodeApplication([]byte(`{
		"id_number": "001190012345", "full_name": "Nguyễn  Văn Đức", "date_of_birth": "1990-03-07", "sex": "M",
		"nationality": "Việt Nam", "ethnicity": "Kinh", "religion": "Không",
		"place_of_origin": "Hà Nội", "place_of_residence": "Hà Nội",
		"reason": "first_issue", "intake_office": "001-HK01", "delivery": {"method": "post"}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	var ve issuance.ValidationError
	if errors.As(a.Validate(issuance.MustParseDate("2026-11-22")), &ve) {
		for _, fe := range ve {
			fmt.Println(fe.Field+":", fe.Rule)
		}
	}
	// Output:
	// id_number: century/sex digit does not match sex
	// portrait: required
	// delivery.address: required when delivery.method is post
}

func ExampleNormalizeName() {
	fmt.Printf("%q\n", issuance.NormalizeName("  Nguye\u0302\u0303n   Văn\tĐức "))
	// Output: "Nguyễn Văn Đức"
}
