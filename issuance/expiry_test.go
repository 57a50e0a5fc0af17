package issuance

import (
	"fmt"
	"testing"
)

func TestExpiryDate(t *testing.T) {
	const birth = "2000-06-15"
	tests := []struct {
		name, issue string
		want        string // "" = no expiry
	}{
		{"age 0", "2000-06-15", "2014-06-15"},
		{"age 11 day before grace", "2012-06-14", "2014-06-15"},
		{"age 12 grace starts", "2012-06-15", "2025-06-15"},
		{"age 13 in grace", "2013-12-01", "2025-06-15"},
		{"day before 14", "2014-06-14", "2025-06-15"},
		{"14th birthday", "2014-06-15", "2025-06-15"},
		{"age 22 day before grace", "2023-06-14", "2025-06-15"},
		{"age 23 grace starts", "2023-06-15", "2040-06-15"},
		{"age 24", "2025-01-01", "2040-06-15"},
		{"25th birthday", "2025-06-15", "2040-06-15"},
		{"age 37", "2038-06-14", "2040-06-15"},
		{"age 38 grace", "2038-06-15", "2060-06-15"},
		{"40th birthday", "2040-06-15", "2060-06-15"},
		{"age 57", "2058-06-14", "2060-06-15"},
		{"age 58 grace before 60", "2058-06-15", ""},
		{"60th birthday", "2060-06-15", ""},
		{"age 61", "2061-07-01", ""},
		{"issue before birth", "1999-01-01", "2014-06-15"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ExpiryDate(MustParseDate(birth), MustParseDate(tt.issue))
			if ok != (tt.want != "") || got.String() != tt.want {
				t.Errorf("ExpiryDate(%s, %s) = %v, %v; want %q", birth, tt.issue, got, ok, tt.want)
			}
		})
	}
}

func TestExpiryDateLeapBirthday(t *testing.T) {
	birth := MustParseDate("2004-02-29")
	tests := []struct{ name, issue, want string }{
		{"expires on 28 Feb of a common year", "2015-01-01", "2018-02-28"},
		{"grace starts on 28 Feb", "2027-02-28", "2044-02-29"},
		{"day before grace", "2027-02-27", "2029-02-28"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ExpiryDate(birth, MustParseDate(tt.issue))
			if !ok || got.String() != tt.want {
				t.Errorf("ExpiryDate(%v, %s) = %v, %v; want %s", birth, tt.issue, got, ok, tt.want)
			}
		})
	}
}

func ExampleExpiryDate() {
	birth := MustParseDate("2000-06-15")
	for _, issue := range []string{"2011-01-10", "2013-06-15", "2023-06-15", "2058-06-15"} {
		exp, ok := ExpiryDate(birth, MustParseDate(issue))
		if !ok {
			fmt.Println(issue, "-> no expiry")
			continue
		}
		fmt.Println(issue, "->", exp)
	}
	// Output:
	// 2011-01-10 -> 2014-06-15
	// 2013-06-15 -> 2025-06-15
	// 2023-06-15 -> 2040-06-15
	// 2058-06-15 -> no expiry
}
