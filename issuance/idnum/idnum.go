// Package idnum parses, checks and makes Vietnamese personal identification numbers (số định danh cá nhân),
// the 12 digits PPP G YY NNNNNN printed on chip identity cards (Decree 137/2015/ND-CP art. 7,
// Circular 07/2016/TT-BCA):
//
//	PPP     province (or country) code where the birth was registered
//	G       century and sex: 1900s male 0 / female 1; 2000s 2 / 3; 2100s 4 / 5; 2200s 6 / 7; 1800s 8 / 9
//	YY      last two digits of the birth year
//	NNNNNN  serial
//
// The province table is data (provinces.tsv, embedded), not code.
package idnum

import (
	"errors"
	"fmt"
	"strconv"
)

// Length is the number of digits of a personal identification number.
const Length = 12

// Sentinel errors; every error returned by this package wraps exactly one of them, so callers can branch with
// errors.Is and messages name the rule that failed.
var (
	ErrFormat   = errors.New("idnum: not 12 ASCII digits")
	ErrProvince = errors.New("idnum: unknown province code")
	ErrCentury  = errors.New("idnum: century/sex digit does not match the birth year")
	ErrSex      = errors.New("idnum: century/sex digit does not match the sex")
	ErrYear     = errors.New("idnum: year digits do not match the birth year")
	ErrRange    = errors.New("idnum: value out of range")
)

// Number is a parsed personal identification number.
type Number struct {
	Province   Province // PPP
	CenturySex int      // G, 0-9
	BirthYY    int      // YY, 0-99
	Serial     string   // NNNNNN, six digits
}

// Parse checks that s is 12 ASCII digits with a known province code and splits it into its parts.
// It does not know the holder's birth date or sex; use CheckBirth for those.
func Parse(s string) (Number, error) {
	if len(s) != Length {
		return Number{}, fmt.Errorf("%w: got %d characters", ErrFormat, len(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return Number{}, fmt.Errorf("%w: character %d is %q", ErrFormat, i+1, s[i])
		}
	}
	p, ok := Lookup(s[0:3])
	if !ok {
		return Number{}, fmt.Errorf("%w %s", ErrProvince, s[0:3])
	}
	return Number{
		Province:   p,
		CenturySex: int(s[3] - '0'),
		BirthYY:    int(s[4]-'0')*10 + int(s[5]-'0'),
		Serial:     s[6:12],
	}, nil
}

// String returns the 12 digits.
func (n Number) String() string {
	return n.Province.Code + string(rune('0'+n.CenturySex)) + strconv.Itoa(n.BirthYY/10) + strconv.Itoa(n.BirthYY%10) + n.Serial
}

// Female reports whether the century/sex digit is odd (female).
func (n Number) Female() bool { return n.CenturySex%2 == 1 }

// CenturyStart returns the first year of the century the digit G encodes: 1900 for 0/1, 2000 for 2/3,
// 2100 for 4/5, 2200 for 6/7, 1800 for 8/9.
func (n Number) CenturyStart() int { return centuryStart(n.CenturySex) }

// BirthYear returns the full birth year encoded by G and YY.
func (n Number) BirthYear() int { return n.CenturyStart() + n.BirthYY }

func centuryStart(g int) int {
	if g >= 8 {
		return 1800
	}
	return 1900 + g/2*100
}

// CenturySexDigit returns G for a birth year and sex, or an ErrRange error outside 1800-2299.
func CenturySexDigit(year int, female bool) (int, error) {
	if year < 1800 || year > 2299 {
		return 0, fmt.Errorf("%w: birth year %d outside 1800-2299", ErrRange, year)
	}
	g := (year/100 - 19) * 2
	if year < 1900 {
		g = 8
	}
	if female {
		g++
	}
	return g, nil
}

// CheckBirth reports whether n agrees with a holder born in year with the given sex: the century/sex digit must
// name the right century (ErrCentury) and sex (ErrSex), and YY the last two digits of year (ErrYear).
// All failing rules are joined in the returned error.
func CheckBirth(n Number, year int, female bool) error {
	var errs []error
	if centuryStart(n.CenturySex) != year/100*100 {
		errs = append(errs, fmt.Errorf("%w: digit %d is for %d-%d, born %d", ErrCentury, n.CenturySex,
			centuryStart(n.CenturySex), centuryStart(n.CenturySex)+99, year))
	}
	if n.Female() != female {
		want := "male"
		if female {
			want = "female"
		}
		errs = append(errs, fmt.Errorf("%w: digit %d, holder is %s", ErrSex, n.CenturySex, want))
	}
	if n.BirthYY != year%100 {
		errs = append(errs, fmt.Errorf("%w: %02d, born %d", ErrYear, n.BirthYY, year))
	}
	return errors.Join(errs...)
}

// Make builds the 12-digit number for a birth registered in province (a 3-digit code), a birth year, a sex and
// a serial 0-999999.
func Make(province string, year int, female bool, serial int) (string, error) {
	p, ok := Lookup(province)
	if !ok {
		return "", fmt.Errorf("%w %q", ErrProvince, province)
	}
	if serial < 0 || serial > 999999 {
		return "", fmt.Errorf("%w: serial %d outside 0-999999", ErrRange, serial)
	}
	g, err := CenturySexDigit(year, female)
	if err != nil {
		return "", err
	}
	b := make([]byte, 0, Length)
	return string(AppendNumber(b, p.Code, g, year%100, serial)), nil
}

// AppendNumber appends the 12 digits of (province code, G, YY, serial) to b without checking them; it is the
// allocation-free core of Make for bulk generators that already hold valid parts.
func AppendNumber(b []byte, code string, g, yy, serial int) []byte {
	b = append(b, code...)
	b = append(b, byte('0'+g), byte('0'+yy/10), byte('0'+yy%10))
	for d := 100000; d > 0; d /= 10 {
		b = append(b, byte('0'+serial/d%10))
	}
	return b
}
