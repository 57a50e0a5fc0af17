package issuance

// RenewalAges are the ages at which a card must be renewed (Law on Identification 26/2023/QH15 art. 21 §1).
var RenewalAges = [...]int{14, 25, 40, 60}

// GraceYears is the window before a renewal age in which a newly issued card already counts as renewed
// (art. 21 §2: "cấp, đổi, cấp lại trong thời hạn 02 năm trước tuổi quy định ... có giá trị sử dụng đến tuổi
// đổi thẻ tiếp theo").
const GraceYears = 2

// ExpiryDate returns the last day of validity of a card issued on issue to a holder born on birth
// (Law 26/2023/QH15 art. 21). The card expires on the holder's birthday at the next renewal age (14, 25, 40,
// 60) after the issue date; if it is issued within GraceYears before that age (on or after the birthday two
// years earlier), it is valid until the renewal age after that. A card issued at 58 or later never expires
// (ok = false, expiry zero). A 29 February birthday falls on 28 February in common years. Examples, born
// 2000-06-15:
//
//	issued 2011-01-10 (age 10) -> 2014-06-15 (14th birthday)
//	issued 2012-06-15 (age 12, grace before 14) -> 2025-06-15 (25th birthday)
//	issued 2014-06-15 (age 14) -> 2025-06-15
//	issued 2023-06-14 (age 22) -> 2025-06-15
//	issued 2023-06-15 (age 23, grace before 25) -> 2040-06-15
//	issued 2057-06-14 (age 56) -> 2060-06-15
//	issued 2058-06-15 (age 58, grace before 60) -> no expiry
//	issued 2061-01-01 (age 60) -> no expiry
//
// An issue date before the birth date is treated as issued at birth.
func ExpiryDate(birth, issue Date) (expiry Date, ok bool) {
	age := 0
	if !issue.Before(birth) {
		age = birth.AgeOn(issue)
	}
	for i, a := range RenewalAges {
		if age >= a {
			continue
		}
		if age >= a-GraceYears {
			if i+1 == len(RenewalAges) {
				return Date{}, false
			}
			a = RenewalAges[i+1]
		}
		return birth.AddYears(a), true
	}
	return Date{}, false
}
