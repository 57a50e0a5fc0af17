package issuance

import (
	"bytes"
	"errors"
	"image/jpeg"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/cccd-project/cccd/issuance/idnum"
)

// ErrInvalidApplication matches (errors.Is) every ValidationError.
var ErrInvalidApplication = errors.New("issuance: invalid application")

// FieldError is one failed rule: Field is the JSON name of the field ("date_of_birth", "delivery.office"),
// Rule says in words what the field must be. Validate returns them inside a ValidationError;
// DecodeApplication returns a single FieldError (with Err set to the underlying decoding error) when a value
// has the wrong JSON type or form or a key is unknown or repeated.
type FieldError struct {
	Field string `json:"field"`
	Rule  string `json:"rule"`
	Err   error  `json:"-"` // optional cause
}

func (e FieldError) Error() string { return "issuance: " + e.Field + ": " + e.Rule }

// Unwrap returns the cause, if any.
func (e FieldError) Unwrap() error { return e.Err }

// ValidationError lists every failed rule of an application, in field order.
// Use errors.As to get it and errors.Is(err, ErrInvalidApplication) to test for it.
type ValidationError []FieldError

func (v ValidationError) Error() string {
	var b strings.Builder
	for i, e := range v {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Is makes errors.Is(v, ErrInvalidApplication) true.
func (v ValidationError) Is(target error) bool { return target == ErrInvalidApplication }

// Has reports whether field failed at least one rule.
func (v ValidationError) Has(field string) bool {
	for _, e := range v {
		if e.Field == field {
			return true
		}
	}
	return false
}

// Limits of the validation rules.
const (
	MaxNameRunes     = 100          // full_name, father, mother, spouse
	MaxPlaceRunes    = 200          // place_of_origin, place_of_residence, identifying_features, delivery.address
	MaxShortRunes    = 50           // nationality, ethnicity, religion
	MaxPortraitBytes = 100 * 1024   // portrait JPEG size
	MinPortraitW     = 240          // portrait minimum width in pixels
	MinPortraitH     = 320          // portrait minimum height in pixels
	MaxPortraitW     = 1200         // portrait maximum width: a bigger header is refused before decoding
	MaxPortraitH     = 1600         // portrait maximum height (a 100 KiB JPEG may claim 65535x65535)
	Nationality      = "Việt Nam"   // the only nationality on a citizen's card
	earliestBirthStr = "1900-01-01" // births before this are rejected
)

var earliestBirth = MustParseDate(earliestBirthStr)

// Validate checks every field of a against the intake rules, as of the civil date today, and returns a
// ValidationError listing every failing field (nil when all pass). It does not modify a. Rules:
//
//   - id_number: 12 digits, known province code, century/sex digit and YY agreeing with date_of_birth and sex
//     (package idnum);
//   - date_of_birth: present, not before 1900-01-01, not after today;
//   - full_name (required), father, mother, spouse (optional): NFC, Vietnamese letters, spaces and the
//     punctuation ' - . only, 1..100 characters, starting with a letter;
//   - sex: M or F;
//   - nationality: "Việt Nam"; ethnicity, religion: non-empty text of at most 50 characters ("Không" for none);
//   - place_of_origin, place_of_residence: non-empty, at most 200 characters; identifying_features optional,
//     at most 200; no control characters anywhere;
//   - previous_id_number: empty, 9 digits (old CMND) or 12 digits different from id_number;
//   - portrait: JPEG (magic FF D8 FF) that image/jpeg decodes, at most 100 KiB, 240x320 to 1200x1600
//     pixels (the header is checked before decoding, so a small file cannot make the decoder allocate
//     gigabytes), taller than wide;
//   - reason: one of Reasons();
//   - intake_office, delivery.office: office codes (ValidOfficeCode); delivery.method "office" (needs
//     delivery.office) or "post" (needs delivery.address).
func (a *Application) Validate(today Date) error {
	var v ValidationError
	add := func(field, rule string) { v = append(v, FieldError{Field: field, Rule: rule}) }
	p := &a.Person

	a.validateIDNumber(add)
	switch {
	case p.DateOfBirth.IsZero():
		add("date_of_birth", "required")
	case !p.DateOfBirth.real():
		add("date_of_birth", "not a real calendar date")
	case p.DateOfBirth.Before(earliestBirth):
		add("date_of_birth", "before "+earliestBirthStr)
	case today.Before(p.DateOfBirth):
		add("date_of_birth", "in the future")
	}
	checkName(add, "full_name", p.FullName, true)
	if !p.Sex.Valid() {
		add("sex", `must be "M" or "F"`)
	}
	if p.Nationality != Nationality {
		add("nationality", `must be "`+Nationality+`"`)
	}
	checkText(add, "ethnicity", p.Ethnicity, true, MaxShortRunes)
	checkText(add, "religion", p.Religion, true, MaxShortRunes)
	checkText(add, "place_of_origin", p.PlaceOfOrigin, true, MaxPlaceRunes)
	checkText(add, "place_of_residence", p.PlaceOfResidence, true, MaxPlaceRunes)
	checkText(add, "identifying_features", p.IdentifyingFeatures, false, MaxPlaceRunes)
	checkName(add, "father", p.Father, false)
	checkName(add, "mother", p.Mother, false)
	checkName(add, "spouse", p.Spouse, false)
	switch prev := p.PreviousIDNumber; {
	case prev == "":
	case !allDigits(prev) || (len(prev) != 9 && len(prev) != 12):
		add("previous_id_number", "must be empty, 9 digits (CMND) or 12 digits")
	case prev == p.IDNumber:
		add("previous_id_number", "must differ from id_number")
	}
	if rule := portraitRule(a.Portrait); rule != "" {
		add("portrait", rule)
	}
	if !a.Reason.Valid() {
		add("reason", "must be one of first_issue, renewal_age, replace_lost, replace_damaged, change_of_data")
	}
	if !ValidOfficeCode(a.IntakeOffice) {
		add("intake_office", officeRule)
	}
	a.validateDelivery(add)
	if len(v) == 0 {
		return nil
	}
	return v
}

func (a *Application) validateIDNumber(add func(field, rule string)) {
	p := &a.Person
	n, err := idnum.Parse(p.IDNumber)
	switch {
	case p.IDNumber == "":
		add("id_number", "required")
		return
	case errors.Is(err, idnum.ErrFormat):
		add("id_number", "must be 12 digits")
		return
	case errors.Is(err, idnum.ErrProvince):
		add("id_number", "unknown province code "+p.IDNumber[:3])
		return
	case err != nil:
		add("id_number", err.Error())
		return
	}
	if p.DateOfBirth.IsZero() {
		return // reported on date_of_birth
	}
	err = idnum.CheckBirth(n, p.DateOfBirth.Year, p.Sex == SexFemale)
	if errors.Is(err, idnum.ErrCentury) {
		add("id_number", "century/sex digit does not match the century of date_of_birth")
	}
	if errors.Is(err, idnum.ErrSex) && p.Sex.Valid() {
		add("id_number", "century/sex digit does not match sex")
	}
	if errors.Is(err, idnum.ErrYear) {
		add("id_number", "birth year digits do not match date_of_birth")
	}
}

func (a *Application) validateDelivery(add func(field, rule string)) {
	d := &a.Delivery
	switch d.Method {
	case DeliveryOffice:
		if d.Office == "" {
			add("delivery.office", "required when delivery.method is office")
		}
	case DeliveryPost:
		if d.Address == "" {
			add("delivery.address", "required when delivery.method is post")
		}
	default:
		add("delivery.method", `must be "office" or "post"`)
	}
	if d.Office != "" && !ValidOfficeCode(d.Office) {
		add("delivery.office", officeRule)
	}
	checkText(add, "delivery.address", d.Address, false, MaxPlaceRunes)
}

const officeRule = `must be an office code: 3-digit province code, "-", 2 to 6 of A-Z 0-9 (e.g. "001-HK01")`

// ValidOfficeCode reports whether s is a police office code as this project defines it: the 3-digit province
// code of the office's province (package idnum, e.g. "079" Hồ Chí Minh), a hyphen, then 2 to 6 upper-case
// ASCII letters or digits naming the office within the province: "001-HK01", "079-Q1", "048-CAHC".
func ValidOfficeCode(s string) bool {
	if len(s) < 6 || len(s) > 10 || s[3] != '-' {
		return false
	}
	if _, ok := idnum.Lookup(s[:3]); !ok {
		return false
	}
	for i := 4; i < len(s); i++ {
		c := s[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// checkName applies the personal-name rules to one field.
func checkName(add func(field, rule string), field, s string, required bool) {
	if s == "" {
		if required {
			add(field, "required")
		}
		return
	}
	if !utf8.ValidString(s) || !norm.NFC.IsNormalString(s) {
		add(field, "must be valid UTF-8 in Unicode NFC")
		return
	}
	if n := utf8.RuneCountInString(s); n > MaxNameRunes {
		add(field, "longer than 100 characters")
	}
	if s != NormalizeName(s) {
		add(field, "leading, trailing or repeated spaces")
	}
	for i, r := range s {
		if i == 0 && !isVietnameseLetter(r) {
			add(field, "must start with a letter")
			return
		}
		if !isVietnameseLetter(r) && !strings.ContainsRune(" '-.", r) {
			add(field, "only Vietnamese letters, spaces and ' - . allowed; found "+string(r))
			return
		}
	}
}

// checkText applies the free-text rules (places, ethnicity, religion, features, address) to one field.
func checkText(add func(field, rule string), field, s string, required bool, maxRunes int) {
	if s == "" {
		if required {
			add(field, "required")
		}
		return
	}
	if !utf8.ValidString(s) || !norm.NFC.IsNormalString(s) {
		add(field, "must be valid UTF-8 in Unicode NFC")
		return
	}
	if utf8.RuneCountInString(s) > maxRunes {
		add(field, "longer than "+itoa(maxRunes)+" characters")
	}
	if strings.TrimSpace(s) != s {
		add(field, "leading or trailing spaces")
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || !unicode.IsPrint(r) && r != ' ' }) >= 0 {
		add(field, "control or non-printable character")
	}
}

// portraitRule returns the first rule the portrait breaks, or "".
func portraitRule(b []byte) string {
	switch {
	case len(b) == 0:
		return "required"
	case len(b) > MaxPortraitBytes:
		return "larger than 100 KiB"
	case !bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return "not a JPEG (missing FF D8 FF)"
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return "not a decodable JPEG"
	}
	if cfg.Width < MinPortraitW || cfg.Height < MinPortraitH {
		return "smaller than 240x320 pixels"
	}
	if cfg.Width > MaxPortraitW || cfg.Height > MaxPortraitH {
		return "larger than 1200x1600 pixels"
	}
	if cfg.Height <= cfg.Width {
		return "must be portrait orientation (height > width)"
	}
	return jpegStructure(b)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}
