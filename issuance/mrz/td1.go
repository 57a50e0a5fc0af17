package mrz

import (
	"fmt"
	"strings"
	"time"
)

// YYMMDD formats a date for the MRZ birth and expiry fields (ICAO 9303-5 §4.2.2): two-digit year, month
// and day, "900307" for 7 March 1990.
func YYMMDD(t time.Time) string { return t.Format("060102") }

// TD1 line and field sizes (ICAO 9303-5 §4.2.2).
const (
	TD1LineLen = 30
	TD1Len     = 3 * TD1LineLen
)

// NoExpiry is the expiry field of a card that does not expire (a Vietnamese card issued at 58 or later,
// Law 26/2023 art. 21). This project writes six fillers; their check digit, computed like any other, is '0'
// (the filler is worth 0 in ICAO 9303-3 §4.9), so BAC/PACE MRZ information stays well defined.
const NoExpiry = "<<<<<<"

// TD1 holds the fields of a TD1 machine readable zone (ICAO 9303-5 §4.2.2). Check digits are not stored:
// Lines computes them and ParseTD1 verifies them.
//
// Vietnamese layout (REFERENCE.md §4): DocumentCode "ID", Issuer and Nationality "VNM", DocumentNumber the
// last 9 digits of the 12-digit personal identification number, OptionalData1 the full 12 digits. When
// OptionalData1 is exactly 12 digits, line 1 positions 16-30 are the 12 digits, "<<", and a check digit over
// the 12 digits in position 30; otherwise OptionalData1 is written as is, filled with <.
type TD1 struct {
	DocumentCode   string // 1-2 characters, "ID" ("I" is written "I<")
	Issuer         string // issuing state, ICAO 9303-3 three-letter code, "VNM"
	DocumentNumber string // up to 9 characters; the last 9 digits of the ID on Vietnamese cards
	OptionalData1  string // up to 15 characters, line 1 positions 16-30; the full 12-digit ID on Vietnamese cards
	BirthDate      string // YYMMDD
	Sex            string // "M", "F" or "<" (unspecified)
	ExpiryDate     string // YYMMDD, or NoExpiry
	Nationality    string // three-letter code, "VNM"
	OptionalData2  string // up to 11 characters, line 2 positions 19-29
	Name           string // MRZ name (see Name); longer names are truncated to 30 characters (TruncateName)
}

// NewVietnamese builds the TD1 of a Vietnamese card from the 12-digit personal identification number, the
// full name as on the card, the sex ("M"/"F") and the birth and expiry dates as YYMMDD (expiry NoExpiry or ""
// for a card without expiry).
func NewVietnamese(id, fullName, sex, birthYYMMDD, expiryYYMMDD string) (TD1, error) {
	if len(id) != 12 || !allDigits(id) {
		return TD1{}, fmt.Errorf("%w: id %q is not 12 digits", ErrField, id)
	}
	if expiryYYMMDD == "" {
		expiryYYMMDD = NoExpiry
	}
	t := TD1{
		DocumentCode:   "ID",
		Issuer:         "VNM",
		DocumentNumber: id[3:],
		OptionalData1:  id,
		BirthDate:      birthYYMMDD,
		Sex:            sex,
		ExpiryDate:     expiryYYMMDD,
		Nationality:    "VNM",
		Name:           Name(fullName),
	}
	_, err := t.Lines()
	return t, err
}

// Lines returns the three 30-character lines with every check digit (ICAO 9303-5 §4.2.2): document number
// (line 1 position 15), birth date (line 2 position 7), expiry date (line 2 position 15), and the composite
// check digit (line 2 position 30) over line 1 positions 6-30, line 2 positions 1-7, 9-15 and 19-29
// (9303-5 §4.2.2.1). It fails if a field is too long, holds characters other than 0-9 A-Z <, or a date is not
// six digits.
func (t TD1) Lines() ([3]string, error) {
	var l [3]string
	if err := t.check(); err != nil {
		return l, err
	}
	doc := pad(t.DocumentNumber, 9)
	docCD, _ := CheckDigit(doc)
	opt1 := pad(t.OptionalData1, 15)
	if len(t.OptionalData1) == 12 && allDigits(t.OptionalData1) {
		cd, _ := CheckDigit(t.OptionalData1)
		opt1 = t.OptionalData1 + "<<" + string(cd)
	}
	l[0] = pad(t.DocumentCode, 2) + pad(t.Issuer, 3) + doc + string(docCD) + opt1

	birthCD, _ := CheckDigit(t.BirthDate)
	expiryCD, _ := CheckDigit(t.ExpiryDate)
	sex := t.Sex
	if sex == "" {
		sex = "<"
	}
	mid := t.BirthDate + string(birthCD) + sex + t.ExpiryDate + string(expiryCD) +
		pad(t.Nationality, 3) + pad(t.OptionalData2, 11)
	comp, _ := CheckDigit(l[0][5:30] + mid[0:7] + mid[8:15] + mid[18:29])
	l[1] = mid + string(comp)

	l[2] = pad(TruncateName(t.Name, TD1LineLen), TD1LineLen)
	return l, nil
}

// String returns the three lines joined by newlines, or "" if Lines fails.
func (t TD1) String() string {
	l, err := t.Lines()
	if err != nil {
		return ""
	}
	return strings.Join(l[:], "\n")
}

// check validates field lengths and character sets.
func (t TD1) check() error {
	fields := []struct {
		name, v  string
		min, max int
	}{
		{"document code", t.DocumentCode, 1, 2},
		{"issuer", t.Issuer, 1, 3},
		{"document number", t.DocumentNumber, 1, 9},
		{"optional data 1", t.OptionalData1, 0, 15},
		{"birth date", t.BirthDate, 6, 6},
		{"sex", t.Sex, 0, 1},
		{"expiry date", t.ExpiryDate, 6, 6},
		{"nationality", t.Nationality, 1, 3},
		{"optional data 2", t.OptionalData2, 0, 11},
		{"name", t.Name, 0, 1 << 10},
	}
	for _, f := range fields {
		if len(f.v) < f.min || len(f.v) > f.max {
			return fmt.Errorf("%w: %s %q must be %d to %d characters", ErrField, f.name, f.v, f.min, f.max)
		}
		if !validChars(f.v) {
			return fmt.Errorf("%w: %s %q", ErrCharset, f.name, f.v)
		}
	}
	if t.DocumentCode[0] < 'A' || t.DocumentCode[0] > 'Z' {
		return fmt.Errorf("%w: document code %q must start with a letter", ErrField, t.DocumentCode)
	}
	if !allDigits(t.BirthDate) {
		return fmt.Errorf("%w: birth date %q is not YYMMDD", ErrField, t.BirthDate)
	}
	if !allDigits(t.ExpiryDate) && t.ExpiryDate != NoExpiry {
		return fmt.Errorf("%w: expiry date %q is not YYMMDD or %s", ErrField, t.ExpiryDate, NoExpiry)
	}
	if t.Sex != "" && t.Sex != "M" && t.Sex != "F" && t.Sex != "<" {
		return fmt.Errorf("%w: sex %q must be M, F or <", ErrField, t.Sex)
	}
	for i := 0; i < len(t.Name); i++ {
		if c := t.Name[i]; c >= '0' && c <= '9' {
			return fmt.Errorf("%w: name %q holds a digit", ErrCharset, t.Name)
		}
	}
	return nil
}

// BACSeedInfo returns the MRZ information used to derive BAC keys and the PACE password from the MRZ
// (ICAO 9303-11 §9.7.3 and §4.3.1): document number (9 characters, < filled) + its check digit, birth date +
// check digit, expiry date + check digit. It returns "" if the fields are invalid. Document numbers longer
// than 9 characters are not supported by this package.
func (t TD1) BACSeedInfo() string {
	if err := t.check(); err != nil {
		return ""
	}
	doc := pad(t.DocumentNumber, 9)
	d, _ := CheckDigit(doc)
	b, _ := CheckDigit(t.BirthDate)
	e, _ := CheckDigit(t.ExpiryDate)
	return doc + string(d) + t.BirthDate + string(b) + t.ExpiryDate + string(e)
}

// ParseTD1 parses a TD1 MRZ: 90 characters, or three lines of 30 separated by "\n" or "\r\n". It verifies
// every check digit (document number, birth date, expiry date, composite, and on the Vietnamese layout the
// check digit over the 12-digit ID) and returns a *CheckDigitError naming the first wrong one. Filler < is
// trimmed from the returned fields; DocumentCode "I<" becomes "I".
func ParseTD1(s string) (TD1, error) {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if strings.Count(s, "\n") > 0 {
		lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
		if len(lines) != 3 {
			return TD1{}, fmt.Errorf("%w: %d lines, want 3", ErrLength, len(lines))
		}
		for i, l := range lines {
			if len(l) != TD1LineLen {
				return TD1{}, fmt.Errorf("%w: line %d has %d characters, want %d", ErrLength, i+1, len(l), TD1LineLen)
			}
		}
		s = strings.Join(lines, "")
	}
	if len(s) != TD1Len {
		return TD1{}, fmt.Errorf("%w: %d characters, want %d", ErrLength, len(s), TD1Len)
	}
	for i := 0; i < len(s); i++ {
		if _, ok := charValue(s[i]); !ok {
			return TD1{}, fmt.Errorf("%w: %q at line %d position %d", ErrCharset, s[i], i/TD1LineLen+1, i%TD1LineLen+1)
		}
	}
	l1, l2, l3 := s[0:30], s[30:60], s[60:90]
	checks := []struct {
		field, data string
		got         byte
	}{
		{"document number", l1[5:14], l1[14]},
		{"birth date", l2[0:6], l2[6]},
		{"expiry date", l2[8:14], l2[14]},
	}
	// Vietnamese layout: 12 digits, "<<", check digit. A missing check digit ('<') is a mismatch, not another
	// layout, so that every accepted MRZ re-encodes to itself.
	vn := allDigits(l1[15:27]) && l1[27:29] == "<<"
	if vn {
		checks = append(checks, struct {
			field, data string
			got         byte
		}{"optional data", l1[15:27], l1[29]})
	}
	checks = append(checks, struct {
		field, data string
		got         byte
	}{"composite", l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29], l2[29]})
	for _, c := range checks {
		if want, _ := CheckDigit(c.data); want != c.got {
			return TD1{}, &CheckDigitError{Field: c.field, Want: want, Got: c.got}
		}
	}
	t := TD1{
		DocumentCode:   trimFill(l1[0:2]),
		Issuer:         trimFill(l1[2:5]),
		DocumentNumber: trimFill(l1[5:14]),
		OptionalData1:  trimFill(l1[15:30]),
		BirthDate:      l2[0:6],
		Sex:            l2[7:8],
		ExpiryDate:     l2[8:14],
		Nationality:    trimFill(l2[15:18]),
		OptionalData2:  trimFill(l2[18:29]),
		Name:           trimFill(l3),
	}
	if vn {
		t.OptionalData1 = l1[15:27]
	}
	if err := t.check(); err != nil {
		return TD1{}, err
	}
	return t, nil
}

// Surname and GivenNames split the MRZ name at "<<" and turn < back into spaces.
func (t TD1) Surname() string {
	s, _, _ := strings.Cut(t.Name, "<<")
	return strings.TrimSpace(strings.ReplaceAll(s, "<", " "))
}

// GivenNames returns the secondary identifier of the MRZ name with < turned into spaces.
func (t TD1) GivenNames() string {
	_, g, _ := strings.Cut(t.Name, "<<")
	return strings.Join(strings.Fields(strings.ReplaceAll(g, "<", " ")), " ")
}

func trimFill(s string) string { return strings.TrimRight(s, "<") }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
