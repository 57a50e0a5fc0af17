package issuance

import (
	"bytes"
	"errors"
	"image/jpeg"
	"strings"

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
//   - the person's fields: see ValidatePerson;
//   - portrait: JPEG (magic FF D8 FF) of at most 100 KiB, 240x320 to 1200x1600 pixels (the header is checked
//     before decoding, so a small file cannot make the decoder allocate gigabytes), height 1.25 to 1.35
//     times the width, well-formed marker segments, and decoded in full by image/jpeg;
//   - reason: one of Reasons();
//   - intake_office, delivery.office: office codes (ValidOfficeCode; whether the office exists and is
//     active is the intake service's check); delivery.method "office" (needs delivery.office) or "post"
//     (needs delivery.address, a place: see ValidatePerson).
func (a *Application) Validate(today Date) error {
	var v ValidationError
	add := func(field, rule string) { v = append(v, FieldError{Field: field, Rule: rule}) }
	validatePerson(add, &a.Person, today)
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

// ValidatePerson checks the personal fields of p, as of the civil date today, with the rules every way
// data comes in shares (intake, the register import, pre-fill), and returns a ValidationError listing every
// failing field, or nil. Text must already be normalized (NormalizeName, NormalizeText): a value that is
// not valid UTF-8 in NFC is refused, never repaired. Rules:
//
//   - id_number: 12 digits, known province code, century/sex digit and YY agreeing with date_of_birth and sex
//     (package idnum);
//   - date_of_birth: present, not before 1900-01-01, not after today;
//   - full_name (required), father, mother, spouse (optional): Vietnamese letters, spaces and the
//     punctuation ' - . only, 1..100 characters, starting with a letter;
//   - sex: M or F;
//   - nationality: "Việt Nam";
//   - ethnicity: one of the 54 ethnic groups (EthnicGroups); religion: a recognised religion or "Không"
//     (Religions);
//   - place_of_origin, place_of_residence (required), identifying_features (optional): at most 200
//     characters of Vietnamese letters, digits, spaces and , . - / ( ) ' : ; (what the card face font and
//     DG13 carry); emoji, symbols, control, bidi and zero-width characters are refused, naming the character;
//   - previous_id_number: empty, 9 digits (old CMND) or 12 digits different from id_number.
func ValidatePerson(p *Person, today Date) error {
	var v ValidationError
	validatePerson(func(field, rule string) { v = append(v, FieldError{Field: field, Rule: rule}) }, p, today)
	if len(v) == 0 {
		return nil
	}
	return v
}

func validatePerson(add func(field, rule string), p *Person, today Date) {
	validateIDNumber(add, p)
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
	checkClosed(add, "ethnicity", p.Ethnicity, ValidEthnicity, ethnicityRule)
	checkClosed(add, "religion", p.Religion, ValidReligion, religionRule)
	checkPlace(add, "place_of_origin", p.PlaceOfOrigin, true)
	checkPlace(add, "place_of_residence", p.PlaceOfResidence, true)
	checkPlace(add, "identifying_features", p.IdentifyingFeatures, false)
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
}

const (
	ethnicityRule = `must be one of the 54 ethnic groups of the General Statistics Office list (e.g. "Kinh", "Tày")`
	religionRule  = `must be a recognised religion (e.g. "Phật giáo") or "Không"`
)

func validateIDNumber(add func(field, rule string), p *Person) {
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
	checkPlace(add, "delivery.address", d.Address, false)
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
	// ISO/IEC 19794-5 §8.3.4 (full frontal image): width:height between 1:1.25 and 1:1.35 (ICAO 9303-9 §2).
	if 100*cfg.Height < 125*cfg.Width || 100*cfg.Height > 135*cfg.Width {
		return "height must be 1.25 to 1.35 times the width (ISO/IEC 19794-5)"
	}
	if rule := jpegStructure(b); rule != "" {
		return rule
	}
	// Decode every pixel: a corrupt scan that the marker walk cannot see fails here, as it would on the
	// card face and in a verifier.
	if _, err := jpeg.Decode(bytes.NewReader(b)); err != nil {
		return "not a decodable JPEG (image data is corrupt)"
	}
	return ""
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
