package mrz

import (
	"fmt"
	"strings"
)

// TD3 line and field sizes (ICAO 9303-4 §4.2.2): the passport book's two lines of 44.
const (
	TD3LineLen = 44
	TD3Len     = 2 * TD3LineLen
)

// TD3 holds the fields of a TD3 (passport) machine readable zone (ICAO 9303-4 §4.2.2),
// the zone of most documents of other States a verifier reads. Fill characters are trimmed.
type TD3 struct {
	DocumentCode   string // "P" or "P" + a letter
	Issuer         string // issuing State or organization, ICAO 9303-3 code (e.g. "D", "FRA")
	Name           string // primary<<secondary identifiers
	DocumentNumber string
	Nationality    string
	BirthDate      string // YYMMDD
	Sex            string // "M", "F" or "<"
	ExpiryDate     string // YYMMDD
	PersonalNumber string // optional data, up to 14 characters
}

// ParseTD3 parses a TD3 MRZ: 88 characters, or two lines of 44 separated by "\n" or
// "\r\n". It verifies every check digit (document number, birth date, expiry date, personal
// number, composite) and returns a *CheckDigitError naming the first wrong one. The
// personal number's check digit may be < when the personal number is all fillers.
func ParseTD3(s string) (TD3, error) {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if strings.Contains(s, "\n") {
		lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
		if len(lines) != 2 || len(lines[0]) != TD3LineLen || len(lines[1]) != TD3LineLen {
			return TD3{}, fmt.Errorf("%w: want 2 lines of %d characters", ErrLength, TD3LineLen)
		}
		s = lines[0] + lines[1]
	}
	if len(s) != TD3Len {
		return TD3{}, fmt.Errorf("%w: %d characters, want %d", ErrLength, len(s), TD3Len)
	}
	for i := 0; i < len(s); i++ {
		if _, ok := charValue(s[i]); !ok {
			return TD3{}, fmt.Errorf("%w: %q at line %d position %d", ErrCharset, s[i], i/TD3LineLen+1, i%TD3LineLen+1)
		}
	}
	l1, l2 := s[:TD3LineLen], s[TD3LineLen:]
	checks := []struct {
		field, data string
		got         byte
	}{
		{"document number", l2[0:9], l2[9]},
		{"birth date", l2[13:19], l2[19]},
		{"expiry date", l2[21:27], l2[27]},
		{"optional data", l2[28:42], l2[42]},
		{"composite", l2[0:10] + l2[13:20] + l2[21:43], l2[43]},
	}
	for _, c := range checks {
		want, _ := CheckDigit(c.data)
		if c.field == "optional data" && c.got == '<' && strings.Trim(c.data, "<") == "" {
			continue
		}
		if want != c.got {
			return TD3{}, &CheckDigitError{Field: c.field, Want: want, Got: c.got}
		}
	}
	t := TD3{
		DocumentCode: trimFill(l1[0:2]), Issuer: trimFill(l1[2:5]), Name: trimFill(l1[5:]),
		DocumentNumber: trimFill(l2[0:9]), Nationality: trimFill(l2[10:13]), BirthDate: l2[13:19],
		Sex: l2[20:21], ExpiryDate: l2[21:27], PersonalNumber: trimFill(l2[28:42]),
	}
	switch {
	case t.DocumentCode == "" || t.DocumentCode[0] != 'P':
		return TD3{}, fmt.Errorf("%w: document code %q of a TD3 must start with P", ErrField, t.DocumentCode)
	case t.Issuer == "" || t.DocumentNumber == "" || t.Nationality == "":
		return TD3{}, fmt.Errorf("%w: issuer, document number and nationality are required", ErrField)
	case !allDigits(t.BirthDate) || !allDigits(t.ExpiryDate):
		return TD3{}, fmt.Errorf("%w: birth date %q and expiry date %q must be YYMMDD", ErrField, t.BirthDate, t.ExpiryDate)
	case t.Sex != "M" && t.Sex != "F" && t.Sex != "<":
		return TD3{}, fmt.Errorf("%w: sex %q must be M, F or <", ErrField, t.Sex)
	}
	return t, nil
}
