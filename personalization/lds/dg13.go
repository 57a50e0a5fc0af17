package lds

import (
	"bytes"
	"fmt"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/cccd-project/cccd/smartcard/tlv"
)

// DG13 is the Vietnamese personal data group (REFERENCE.md §5), all text UTF-8 and NFC.
// Dates are written as on the card face, dd/mm/yyyy.
type DG13 struct {
	IDNumber            string // field 1: the 12-digit personal identification number
	FullName            string // field 2
	DateOfBirth         string // field 3: dd/mm/yyyy
	Sex                 string // field 4: "Nam" or "Nữ"
	Nationality         string // field 5: "Việt Nam"
	Ethnicity           string // field 6
	Religion            string // field 7
	PlaceOfOrigin       string // field 8
	PlaceOfResidence    string // field 9
	IdentifyingFeatures string // field 10
	IssueDate           string // field 11: dd/mm/yyyy
	ExpiryDate          string // field 12: dd/mm/yyyy, or NoExpiry
	Father              string // field 13, first name of the pair
	Mother              string // field 13, second name of the pair
	Spouse              string // field 14; the field is omitted when empty
	PreviousIDNumber    string // field 15
	CardSerial          string // field 16
}

// NoExpiry is the expiry written for a card that does not expire (issued at 58 or later:
// 60 is the last renewal age and the two-year grace rule applies, Law on Identification
// 26/2023/QH15 art. 21).
const NoExpiry = "Không thời hạn"

// DG13 layout constants (REFERENCE.md §5).
var (
	dg13Version = []byte{0x01}
	// OID 1.0.10646.1.0.8 (ISO/IEC 10646 UTF-8).
	dg13UTF8OID = []byte{0x28, 0xD3, 0x16, 0x01, 0x00, 0x08}
)

// DG13 field numbers.
const (
	dg13Parents  = 13
	dg13Spouse   = 14
	dg13MaxField = 16
)

// texts returns pointers to the single-string fields 1..12, 15 and 16, indexed by field number.
func (d *DG13) texts() map[int]*string {
	return map[int]*string{
		1: &d.IDNumber, 2: &d.FullName, 3: &d.DateOfBirth, 4: &d.Sex, 5: &d.Nationality, 6: &d.Ethnicity,
		7: &d.Religion, 8: &d.PlaceOfOrigin, 9: &d.PlaceOfResidence, 10: &d.IdentifyingFeatures,
		11: &d.IssueDate, 12: &d.ExpiryDate, 15: &d.PreviousIDNumber, 16: &d.CardSerial,
	}
}

// Validate checks that every field can be written: valid NFC UTF-8, a 12-digit ID number, a
// full name, real dates as dd/mm/yyyy (the expiry may be NoExpiry), and Sex "Nam" or "Nữ".
// Its errors wrap ErrInvalid and name the field.
func (d DG13) Validate() error {
	names := []string{"", "id number", "full name", "date of birth", "sex", "nationality", "ethnicity", "religion",
		"place of origin", "place of residence", "identifying features", "issue date", "expiry date", "parents",
		"spouse", "previous id number", "card serial"}
	texts := d.texts()
	for n := 1; n <= dg13MaxField; n++ {
		p, ok := texts[n]
		if !ok {
			continue
		}
		if !utf8.ValidString(*p) || !norm.NFC.IsNormalString(*p) {
			return invalid("dg13: field %d (%s) is not NFC-normalized UTF-8", n, names[n])
		}
	}
	for i, s := range []string{d.Father, d.Mother, d.Spouse} {
		if !utf8.ValidString(s) || !norm.NFC.IsNormalString(s) {
			return invalid("dg13: %s is not NFC-normalized UTF-8", []string{"father", "mother", "spouse"}[i])
		}
	}
	if !isDigits(d.IDNumber, 12) {
		return invalid("dg13: field 1 (id number) %q must be 12 digits", d.IDNumber)
	}
	if d.FullName == "" {
		return invalid("dg13: field 2 (full name) is empty")
	}
	if !isDate(d.DateOfBirth) {
		return invalid("dg13: field 3 (date of birth) %q must be a real date dd/mm/yyyy", d.DateOfBirth)
	}
	if d.Sex != "Nam" && d.Sex != "Nữ" {
		return invalid("dg13: field 4 (sex) %q must be Nam or Nữ", d.Sex)
	}
	if !isDate(d.IssueDate) {
		return invalid("dg13: field 11 (issue date) %q must be a real date dd/mm/yyyy", d.IssueDate)
	}
	if d.ExpiryDate != NoExpiry && !isDate(d.ExpiryDate) {
		return invalid("dg13: field 12 (expiry date) %q must be a real date dd/mm/yyyy or %q", d.ExpiryDate, NoExpiry)
	}
	return nil
}

// Encode returns DG13 (REFERENCE.md §5):
//
//	6D { 30 { 02 01 01, 06 06 28 D3 16 01 00 08, 31 { 30 { 02 01 nn, 0C value } ... } } }
//
// Field 13 is 30 { 02 01 0D, 30 { 0C father, 0C mother } }, field 14 the same shape with the
// spouse alone and is left out when Spouse is empty. Empty texts are written as empty
// UTF8Strings.
//
// The fields are written in field-number order, as on issued cards. Strict DER would sort
// the SET OF by the encodings (X.690 §11.6), i.e. by length first; readers in the field
// index the fields by number, and ParseDG13 accepts any order.
func (d DG13) Encode() ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	texts := d.texts()
	var set []byte
	for n := 1; n <= dg13MaxField; n++ {
		var v []byte
		switch n {
		case dg13Parents:
			v = append(tlv.Encode(0x0C, []byte(d.Father)), tlv.Encode(0x0C, []byte(d.Mother))...)
			v = tlv.Encode(0x30, v)
		case dg13Spouse:
			if d.Spouse == "" {
				continue
			}
			v = tlv.Encode(0x30, tlv.Encode(0x0C, []byte(d.Spouse)))
		default:
			v = tlv.Encode(0x0C, []byte(*texts[n]))
		}
		set = append(set, tlv.Encode(0x30, append(tlv.Encode(0x02, []byte{byte(n)}), v...))...)
	}
	var seq []byte
	seq = append(seq, tlv.Encode(0x02, dg13Version)...)
	seq = append(seq, tlv.Encode(0x06, dg13UTF8OID)...)
	seq = append(seq, tlv.Encode(0x31, set)...)
	return tlv.Encode(0x6D, tlv.Encode(0x30, seq)), nil
}

// ParseDG13 decodes DG13 (REFERENCE.md §5). It accepts the fields in any order and is strict
// on everything else: version 1, the UTF-8 OID, every field a SEQUENCE of an INTEGER 1..16
// and a UTF8String (or, for 13 and 14, a SEQUENCE of two or one UTF8Strings), each field at
// most once, fields 1 to 12 present, every string valid UTF-8. It does not check contents
// (dates, ID number): use DG13.Validate for that.
func ParseDG13(b []byte) (DG13, error) {
	v, err := unwrap(b, 0x6D, "dg13")
	if err != nil {
		return DG13{}, err
	}
	seq, err := unwrap(v, 0x30, "dg13 sequence")
	if err != nil {
		return DG13{}, err
	}
	t, ver, rest, err := tlv.Next(seq)
	if err != nil || t != 0x02 || !bytes.Equal(ver, dg13Version) {
		return DG13{}, malformed("dg13: version must be 02 01 01")
	}
	t, oid, rest, err := tlv.Next(rest)
	if err != nil || t != 0x06 || !bytes.Equal(oid, dg13UTF8OID) {
		return DG13{}, malformed("dg13: character set must be OID 1.0.10646.1.0.8 (UTF-8)")
	}
	set, err := unwrap(rest, 0x31, "dg13 field set")
	if err != nil {
		return DG13{}, err
	}
	var d DG13
	texts := d.texts()
	var seen [dg13MaxField + 1]bool
	for len(set) > 0 {
		var field []byte
		if t, field, set, err = tlv.Next(set); err != nil || t != 0x30 {
			return DG13{}, malformed("dg13: field is not a SEQUENCE")
		}
		t, num, val, err := tlv.Next(field)
		if err != nil || t != 0x02 || len(num) != 1 || num[0] < 1 || num[0] > dg13MaxField {
			return DG13{}, malformed("dg13: field number must be an INTEGER 1..%d", dg13MaxField)
		}
		n := int(num[0])
		if seen[n] {
			return DG13{}, malformed("dg13: field %d appears twice", n)
		}
		seen[n] = true
		switch n {
		case dg13Parents:
			s, err := utf8Strings(val, 2, n)
			if err != nil {
				return DG13{}, err
			}
			d.Father, d.Mother = s[0], s[1]
		case dg13Spouse:
			s, err := utf8Strings(val, 1, n)
			if err != nil {
				return DG13{}, err
			}
			d.Spouse = s[0]
		default:
			s, err := utf8String(val, n)
			if err != nil {
				return DG13{}, err
			}
			*texts[n] = s
		}
	}
	for n := 1; n <= 12; n++ {
		if !seen[n] {
			return DG13{}, malformed("dg13: field %d missing", n)
		}
	}
	return d, nil
}

// utf8String decodes exactly one UTF8String filling b.
func utf8String(b []byte, field int) (string, error) {
	v, err := unwrap(b, 0x0C, fmt.Sprintf("dg13 field %d", field))
	if err != nil {
		return "", err
	}
	if !utf8.Valid(v) {
		return "", malformed("dg13: field %d is not valid UTF-8", field)
	}
	return string(v), nil
}

// utf8Strings decodes a SEQUENCE of exactly n UTF8Strings filling b.
func utf8Strings(b []byte, n, field int) ([]string, error) {
	seq, err := unwrap(b, 0x30, fmt.Sprintf("dg13 field %d", field))
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, n)
	for len(seq) > 0 {
		t, v, rest, err := tlv.Next(seq)
		if err != nil || t != 0x0C {
			return nil, malformed("dg13: field %d holds something other than UTF8Strings", field)
		}
		if !utf8.Valid(v) {
			return nil, malformed("dg13: field %d is not valid UTF-8", field)
		}
		out = append(out, string(v))
		seq = rest
	}
	if len(out) != n {
		return nil, malformed("dg13: field %d holds %d names, want %d", field, len(out), n)
	}
	return out, nil
}

// isDate reports whether s is a real calendar date written dd/mm/yyyy.
func isDate(s string) bool {
	t, err := time.Parse("02/01/2006", s)
	return err == nil && t.Format("02/01/2006") == s
}
