package layout

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Sex values printed on a card (DG13 field 4).
const (
	Male   = "Nam"
	Female = "Nữ"
)

// NoExpiry is printed as the expiry date of a card issued at 58 or later
// (Law on Identification 26/2023/QH15 art. 21: 60 is the last renewal age, and a card issued
// within the two years before it runs to the age after it, which does not exist).
const NoExpiry = "Không thời hạn"

// ErrInvalidCard is matched (errors.Is) by every validation failure of a Card.
var ErrInvalidCard = errors.New("layout: invalid card")

// Card is the personal data printed on the two faces of one card. Text fields
// hold the words exactly as printed (NFC is applied by the renderer); dates are
// dd/mm/yyyy. It is filled by personalization from the approved application.
type Card struct {
	IDNumber            string    // 12-digit personal identification number
	FullName            string    // e.g. "Nguyễn Thị Ngọc Ánh", printed verbatim
	DateOfBirth         string    // dd/mm/yyyy
	Sex                 string    // Male ("Nam") or Female ("Nữ")
	Nationality         string    // "Việt Nam"
	PlaceOfOrigin       string    // quê quán (2021 design)
	PlaceOfBirth        string    // nơi đăng ký khai sinh (2024 design)
	PlaceOfResidence    string    // nơi cư trú / nơi thường trú
	IdentifyingFeatures string    // đặc điểm nhân dạng (2021 design)
	IssueDate           string    // dd/mm/yyyy
	ExpiryDate          string    // dd/mm/yyyy or NoExpiry
	PreviousIDNumber    string    // 9-digit CMND or earlier 12-digit number, may be empty
	IssuingAuthority    string    // "Bộ Công an" on the 2024 design
	Portrait            []byte    // JPEG
	MRZ                 [3]string // TD1, 3 lines of 30 characters (ICAO Doc 9303-5 §4)
	CardSerial          string    // blank card body serial, not printed
}

// fieldNames lists the text fields a layout element may print, in Card order.
var fieldNames = []string{
	"IDNumber", "FullName", "DateOfBirth", "Sex", "Nationality", "PlaceOfOrigin",
	"PlaceOfBirth", "PlaceOfResidence", "IdentifyingFeatures", "IssueDate", "ExpiryDate",
	"PreviousIDNumber", "IssuingAuthority",
}

// Field returns the text of the named Card field (one of FieldNames) and
// whether the name is known.
func (c Card) Field(name string) (string, bool) {
	switch name {
	case "IDNumber":
		return c.IDNumber, true
	case "FullName":
		return c.FullName, true
	case "DateOfBirth":
		return c.DateOfBirth, true
	case "Sex":
		return c.Sex, true
	case "Nationality":
		return c.Nationality, true
	case "PlaceOfOrigin":
		return c.PlaceOfOrigin, true
	case "PlaceOfBirth":
		return c.PlaceOfBirth, true
	case "PlaceOfResidence":
		return c.PlaceOfResidence, true
	case "IdentifyingFeatures":
		return c.IdentifyingFeatures, true
	case "IssueDate":
		return c.IssueDate, true
	case "ExpiryDate":
		return c.ExpiryDate, true
	case "PreviousIDNumber":
		return c.PreviousIDNumber, true
	case "IssuingAuthority":
		return c.IssuingAuthority, true
	}
	return "", false
}

// FieldNames returns the names accepted by Card.Field.
func FieldNames() []string { return append([]string(nil), fieldNames...) }

// Validate checks the rules every design relies on: a 12-digit ID, dd/mm/yyyy
// dates, Nam/Nữ, a JPEG portrait, three 30-character MRZ lines, and no '|'
// (the QR field separator) or control characters in any text. Whether a text
// fits its box is checked by the renderer.
func (c Card) Validate() error {
	if !digits(c.IDNumber, 12) {
		return fmt.Errorf("%w: IDNumber %q: want 12 digits", ErrInvalidCard, c.IDNumber)
	}
	if c.PreviousIDNumber != "" && !digits(c.PreviousIDNumber, 9) && !digits(c.PreviousIDNumber, 12) {
		return fmt.Errorf("%w: PreviousIDNumber %q: want 9 or 12 digits", ErrInvalidCard, c.PreviousIDNumber)
	}
	for _, d := range []struct{ name, v string }{
		{"DateOfBirth", c.DateOfBirth}, {"IssueDate", c.IssueDate}, {"ExpiryDate", c.ExpiryDate},
	} {
		if d.name == "ExpiryDate" && d.v == NoExpiry {
			continue
		}
		if !isDate(d.v) {
			return fmt.Errorf("%w: %s %q: want dd/mm/yyyy", ErrInvalidCard, d.name, d.v)
		}
	}
	if c.Sex != Male && c.Sex != Female {
		return fmt.Errorf("%w: Sex %q: want %q or %q", ErrInvalidCard, c.Sex, Male, Female)
	}
	if strings.TrimSpace(c.FullName) == "" {
		return fmt.Errorf("%w: FullName is empty", ErrInvalidCard)
	}
	for _, name := range fieldNames {
		v, _ := c.Field(name)
		if !utf8.ValidString(v) {
			return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidCard, name)
		}
		for _, r := range v {
			if r == '|' || r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				return fmt.Errorf("%w: %s contains %q", ErrInvalidCard, name, r)
			}
		}
	}
	// JPEG SOI marker (ITU-T T.81 B.1.1.3); the decoder checks the rest.
	if len(c.Portrait) < 3 || c.Portrait[0] != 0xff || c.Portrait[1] != 0xd8 {
		return fmt.Errorf("%w: Portrait: want a JPEG image", ErrInvalidCard)
	}
	for i, l := range c.MRZ {
		if len(l) != 30 || strings.Trim(l, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<") != "" {
			return fmt.Errorf("%w: MRZ line %d %q: want 30 characters of A-Z 0-9 <", ErrInvalidCard, i+1, l)
		}
	}
	return nil
}

// QRPayload returns the text of the card's QR code: fields joined by '|' in the
// shape public parsers agree on (REFERENCE.md §3):
//
//	ID12|OLD_ID|FULL NAME|DDMMYYYY (birth)|Nam or Nữ|place of residence|DDMMYYYY (issue)
//
// Dates lose their slashes; the other fields are copied verbatim.
func QRPayload(c Card) string {
	return strings.Join([]string{
		c.IDNumber, c.PreviousIDNumber, c.FullName, strings.ReplaceAll(c.DateOfBirth, "/", ""),
		c.Sex, c.PlaceOfResidence, strings.ReplaceAll(c.IssueDate, "/", ""),
	}, "|")
}

func digits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isDate reports whether s is a calendar date written dd/mm/yyyy.
func isDate(s string) bool {
	if len(s) != 10 || s[2] != '/' || s[5] != '/' || !digits(s[:2], 2) || !digits(s[3:5], 2) || !digits(s[6:], 4) {
		return false
	}
	d := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	y := int(s[6]-'0')*1000 + int(s[7]-'0')*100 + int(s[8]-'0')*10 + int(s[9]-'0')
	if m < 1 || m > 12 || d < 1 || y < 1900 {
		return false
	}
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m-1]
	if m == 2 && (y%4 == 0 && y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return d <= days
}
