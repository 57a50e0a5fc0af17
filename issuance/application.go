// Package issuance holds the domain of chip identity card issuance: applications, citizens' data, validation,
// card validity.
//
// The package is pure: it parses, validates and computes, and does no I/O. Storage (issuance/store), the HTTP
// intake API and the workflow build on these types.
package issuance

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Sex is the holder's sex as printed in the MRZ (ICAO 9303-3 §4.2: M or F).
type Sex string

// The two values of Sex accepted for Vietnamese cards.
const (
	SexMale   Sex = "M"
	SexFemale Sex = "F"
)

// Vietnamese returns the word printed on the card face and stored in DG13 field 4: "Nam" or "Nữ".
// It returns "" for any other value.
func (s Sex) Vietnamese() string {
	switch s {
	case SexMale:
		return "Nam"
	case SexFemale:
		return "Nữ"
	}
	return ""
}

// Valid reports whether s is SexMale or SexFemale.
func (s Sex) Valid() bool { return s == SexMale || s == SexFemale }

// Reason is why a card is applied for (Law on Identification 26/2023/QH15 art. 23-24).
type Reason string

// The reasons an application may give.
const (
	ReasonFirstIssue     Reason = "first_issue"
	ReasonRenewalAge     Reason = "renewal_age"
	ReasonReplaceLost    Reason = "replace_lost"
	ReasonReplaceDamaged Reason = "replace_damaged"
	ReasonChangeOfData   Reason = "change_of_data"
)

// Reasons lists every valid Reason, in a stable order.
func Reasons() []Reason {
	return []Reason{ReasonFirstIssue, ReasonRenewalAge, ReasonReplaceLost, ReasonReplaceDamaged, ReasonChangeOfData}
}

// Valid reports whether r is one of Reasons().
func (r Reason) Valid() bool {
	for _, v := range Reasons() {
		if r == v {
			return true
		}
	}
	return false
}

// Person is every personal field the card carries (card face and DG13, REFERENCE.md §5).
// Free-text fields are stored NFC-normalized.
type Person struct {
	IDNumber            string `json:"id_number"`
	FullName            string `json:"full_name"`
	DateOfBirth         Date   `json:"date_of_birth"`
	Sex                 Sex    `json:"sex"`
	Nationality         string `json:"nationality"`
	Ethnicity           string `json:"ethnicity"`
	Religion            string `json:"religion"`
	PlaceOfOrigin       string `json:"place_of_origin"`
	PlaceOfResidence    string `json:"place_of_residence"`
	IdentifyingFeatures string `json:"identifying_features"`
	Father              string `json:"father"`
	Mother              string `json:"mother"`
	Spouse              string `json:"spouse"`
	PreviousIDNumber    string `json:"previous_id_number"`
}

// Delivery methods.
const (
	DeliveryOffice = "office" // the holder collects the card at Delivery.Office
	DeliveryPost   = "post"   // the card is posted to Delivery.Address
)

// Delivery says how the finished card reaches its holder.
type Delivery struct {
	Method  string `json:"method"`  // DeliveryOffice or DeliveryPost
	Office  string `json:"office"`  // receiving office code (see ValidOfficeCode)
	Address string `json:"address"` // postal address; required when Method is DeliveryPost
}

// Application is one citizen's request for a card as taken at an intake office.
// Person is embedded so that its fields appear flat in JSON.
type Application struct {
	Person
	Portrait     []byte   `json:"portrait"` // JPEG; base64 in JSON
	Reason       Reason   `json:"reason"`
	IntakeOffice string   `json:"intake_office"`
	Delivery     Delivery `json:"delivery"`
}

// MaxApplicationJSON is the largest application document DecodeApplication accepts, portrait included
// (a 100 KB JPEG is ~134 KiB in base64).
const MaxApplicationJSON = 256 << 10

// Sentinel errors of DecodeApplication.
var (
	ErrTooLarge    = errors.New("issuance: application larger than 256 KiB")
	ErrInvalidUTF8 = errors.New("issuance: application is not valid UTF-8")
	ErrTrailing    = errors.New("issuance: data after the JSON object")
	// ErrMalformedJSON is a document that is not well-formed JSON (RFC 8259).
	ErrMalformedJSON = errors.New("issuance: malformed JSON")
)

// DecodeApplication parses one application JSON object strictly: at most MaxApplicationJSON bytes, valid UTF-8,
// exactly one object, no unknown, duplicate or differently-cased keys (encoding/json alone would accept
// "Full_Name" and a repeated key), every field of the right type. Errors name the offending field.
// It does not call Validate; the caller does, with the date of intake. Text fields are NFC-normalized.
func DecodeApplication(data []byte) (Application, error) {
	var a Application
	if len(data) > MaxApplicationJSON {
		return a, ErrTooLarge
	}
	if err := decodeStrict(data, &a, applicationKeys); err != nil {
		return Application{}, err
	}
	a.normalize()
	return a, nil
}

// decodeError turns encoding/json errors into messages naming the field.
func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	var de *DateError
	var ce base64.CorruptInputError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if f, ok := strings.CutPrefix(field, "Person."); ok { // the embedded struct is flat in JSON
			field = f
		}
		if field == "" {
			field = "application"
		}
		return FieldError{Field: field, Rule: "want " + jsonKind(te.Type.Kind().String()) + ", got JSON " + te.Value, Err: err}
	case errors.As(err, &se):
		return fmt.Errorf("%w: syntax error at offset %d", ErrMalformedJSON, se.Offset)
	case errors.As(err, &de):
		// The only Date field of an application.
		rule := "invalid date " + QuoteShort(de.Input) + ": want a real date as YYYY-MM-DD"
		return FieldError{Field: "date_of_birth", Rule: rule, Err: err}
	case errors.As(err, &ce):
		// The only []byte field.
		return FieldError{Field: "portrait", Rule: "not standard base64", Err: err}
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: truncated", ErrMalformedJSON)
	}
	return fmt.Errorf("%w: %w", ErrMalformedJSON, err)
}

// jsonKind names a Go kind the way a JSON client understands it.
func jsonKind(k string) string {
	switch k {
	case "slice":
		return "base64 string"
	case "struct":
		return "object"
	}
	return k
}

// normalize NFC-normalizes and trims every free-text field.
func (a *Application) normalize() {
	p := &a.Person
	for _, f := range []*string{&p.FullName, &p.Father, &p.Mother, &p.Spouse} {
		*f = NormalizeName(*f)
	}
	for _, f := range []*string{&p.IDNumber, &p.PreviousIDNumber, &p.Nationality, &p.Ethnicity, &p.Religion,
		&p.PlaceOfOrigin, &p.PlaceOfResidence, &p.IdentifyingFeatures, &a.IntakeOffice,
		&a.Delivery.Method, &a.Delivery.Office, &a.Delivery.Address} {
		*f = normalizeText(*f)
	}
}
