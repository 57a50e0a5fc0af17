package registry

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/idnum"
)

// residentFields are the keys of a register line, in AppendJSON order.
var residentFields = [...]string{"id_number", "full_name", "date_of_birth", "sex", "nationality", "ethnicity",
	"religion", "place_of_origin", "place_of_residence", "identifying_features", "father", "mother", "spouse",
	"previous_id_number", "residence_province", "registered_office", "phone"}

// MaxLine is the longest register line DecodeLine accepts.
const MaxLine = 16 << 10

// ErrLineTooLong is a line longer than MaxLine.
var ErrLineTooLong = errors.New("registry: line longer than 16 KiB")

// DecodeLine parses one register line (a JSON object as AppendJSON writes it) as strictly as intake parses an
// application: valid UTF-8 (invalid bytes are refused, never replaced), every key exactly one of the
// Resident's JSON names and none twice, every value a JSON string (or null, for empty), no escaped lone
// surrogate, nothing after the object. Names are normalized with issuance.NormalizeName and other text with
// issuance.NormalizeText (so decomposed Unicode is stored NFC). An error is an issuance.FieldError naming
// the key ("line" when the line is not a JSON object at all). It does not apply the field rules: see
// Resident.Validate. It is a hand-written scanner for this flat object, several times faster than
// encoding/json, so that a 100-million-row register loads at the speed of COPY.
func DecodeLine(b []byte) (Resident, error) {
	var r Resident
	if len(b) > MaxLine {
		return r, issuance.FieldError{Field: "line", Rule: "longer than 16 KiB", Err: ErrLineTooLong}
	}
	d := lineDecoder{b: b}
	var seen uint32
	var dob string
	d.space()
	if !d.eat('{') {
		return r, d.syntax("must be one JSON object")
	}
	d.space()
	if d.eat('}') {
		return r, d.end()
	}
	for {
		d.space()
		if d.peek() != '"' {
			return r, d.syntax("expected a key")
		}
		key, err := d.str("key")
		if err != nil {
			return r, err
		}
		k := fieldIndex(key)
		if k < 0 {
			return r, issuance.FieldError{Field: shortKey(key), Rule: "unknown field"}
		}
		if seen&(1<<k) != 0 {
			return r, issuance.FieldError{Field: key, Rule: "duplicate field"}
		}
		seen |= 1 << k
		d.space()
		if !d.eat(':') {
			return r, d.syntax("expected ':' after a key")
		}
		d.space()
		var v string
		switch c := d.peek(); {
		case c == '"':
			if v, err = d.str(key); err != nil {
				return r, err
			}
		case d.literal("null"):
		default:
			return r, issuance.FieldError{Field: key, Rule: "want string, got JSON " + jsonKind(c)}
		}
		if k == 2 {
			dob = v
		} else {
			*r.field(k) = v
		}
		d.space()
		if d.eat('}') {
			break
		}
		if !d.eat(',') {
			return r, d.syntax("expected ',' or '}'")
		}
	}
	if err := d.end(); err != nil {
		return r, err
	}
	if dob != "" {
		date, err := issuance.ParseDate(dob)
		if err != nil {
			return r, issuance.FieldError{Field: "date_of_birth", Rule: "invalid date " + issuance.QuoteShort(dob) + ": want a real date as YYYY-MM-DD"}
		}
		r.DateOfBirth = date
	}
	r.normalize()
	return r, nil
}

func fieldIndex(key string) int {
	for i, f := range residentFields {
		if f == key {
			return i
		}
	}
	return -1
}

// field returns the string field of key index k (not 2, date_of_birth).
func (r *Resident) field(k int) *string {
	p := &r.Person
	return [...]*string{&p.IDNumber, &p.FullName, nil, (*string)(&p.Sex), &p.Nationality, &p.Ethnicity, &p.Religion,
		&p.PlaceOfOrigin, &p.PlaceOfResidence, &p.IdentifyingFeatures, &p.Father, &p.Mother, &p.Spouse,
		&p.PreviousIDNumber, &r.ResidenceProvince, &r.RegisteredOffice, &r.Phone}[k]
}

func (r *Resident) normalize() {
	p := &r.Person
	for _, f := range []*string{&p.FullName, &p.Father, &p.Mother, &p.Spouse} {
		*f = issuance.NormalizeName(*f)
	}
	for _, f := range []*string{&p.IDNumber, &p.PreviousIDNumber, &p.Nationality, &p.Ethnicity, &p.Religion,
		&p.PlaceOfOrigin, &p.PlaceOfResidence, &p.IdentifyingFeatures, &r.ResidenceProvince, &r.RegisteredOffice, &r.Phone} {
		*f = issuance.NormalizeText(*f)
	}
}

// Validate checks r with the rules every way data comes in shares (issuance.ValidatePerson, as of the civil
// date today) plus the register's own fields: residence_province a province code of the code table (package
// idnum), registered_office an office code (issuance.ValidOfficeCode), phone 10 digits starting with 0; each
// may be empty. It returns an issuance.ValidationError listing every failing field, or nil.
func (r *Resident) Validate(today issuance.Date) error {
	var v issuance.ValidationError
	if err := issuance.ValidatePerson(&r.Person, today); err != nil {
		v = append(v, err.(issuance.ValidationError)...)
	}
	if c := r.ResidenceProvince; c != "" {
		if _, ok := idnum.Lookup(c); !ok {
			v = append(v, issuance.FieldError{Field: "residence_province", Rule: "must be a 3-digit province code of the code table"})
		}
	}
	if o := r.RegisteredOffice; o != "" && !issuance.ValidOfficeCode(o) {
		v = append(v, issuance.FieldError{Field: "registered_office", Rule: `must be an office code (e.g. "001-HK01")`})
	}
	if ph := r.Phone; ph != "" && (len(ph) != 10 || ph[0] != '0' || !digits(ph)) {
		v = append(v, issuance.FieldError{Field: "phone", Rule: "must be 10 digits starting with 0"})
	}
	if len(v) == 0 {
		return nil
	}
	return v
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// lineDecoder scans one line.
type lineDecoder struct {
	b   []byte
	pos int
}

func (d *lineDecoder) space() {
	for d.pos < len(d.b) {
		switch d.b[d.pos] {
		case ' ', '\t', '\r', '\n':
			d.pos++
		default:
			return
		}
	}
}

func (d *lineDecoder) peek() byte {
	if d.pos < len(d.b) {
		return d.b[d.pos]
	}
	return 0
}

func (d *lineDecoder) eat(c byte) bool {
	if d.peek() == c {
		d.pos++
		return true
	}
	return false
}

func (d *lineDecoder) literal(s string) bool {
	if len(d.b)-d.pos >= len(s) && string(d.b[d.pos:d.pos+len(s)]) == s {
		d.pos += len(s)
		return true
	}
	return false
}

func (d *lineDecoder) end() error {
	d.space()
	if d.pos != len(d.b) {
		return d.syntax("data after the JSON object")
	}
	return nil
}

func (d *lineDecoder) syntax(rule string) error {
	return issuance.FieldError{Field: "line", Rule: fmt.Sprintf("%s (at byte %d)", rule, d.pos+1)}
}

// str reads a JSON string (RFC 8259 §7) at d.pos, which is '"'.
func (d *lineDecoder) str(field string) (string, error) {
	d.pos++
	start := d.pos
	// Fast path: no escapes.
	for d.pos < len(d.b) {
		c := d.b[d.pos]
		switch {
		case c == '"':
			s := string(d.b[start:d.pos])
			d.pos++
			return s, nil
		case c == '\\':
			return d.strEscaped(field, start)
		case c < 0x20:
			return "", issuance.FieldError{Field: field, Rule: fmt.Sprintf("control character U+%04X in a JSON string", c)}
		case c < utf8.RuneSelf:
			d.pos++
		default:
			r, size := utf8.DecodeRune(d.b[d.pos:])
			if r == utf8.RuneError && size == 1 {
				return "", issuance.FieldError{Field: field, Rule: "must be valid UTF-8"}
			}
			d.pos += size
		}
	}
	return "", d.syntax("unterminated string")
}

func (d *lineDecoder) strEscaped(field string, start int) (string, error) {
	out := append(make([]byte, 0, d.pos-start+32), d.b[start:d.pos]...)
	for d.pos < len(d.b) {
		c := d.b[d.pos]
		switch {
		case c == '"':
			d.pos++
			return string(out), nil
		case c == '\\':
			if d.pos+1 >= len(d.b) {
				return "", d.syntax("unterminated string")
			}
			e := d.b[d.pos+1]
			d.pos += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := d.hex4()
				if !ok {
					return "", d.syntax(`bad \u escape`)
				}
				if r >= 0xD800 && r <= 0xDBFF && d.literal(`\u`) {
					lo, ok := d.hex4()
					if !ok {
						return "", d.syntax(`bad \u escape`)
					}
					if lo >= 0xDC00 && lo <= 0xDFFF {
						r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
					} else {
						r = 0xD800 // reported below
					}
				}
				if r >= 0xD800 && r <= 0xDFFF {
					return "", issuance.FieldError{Field: field, Rule: "escaped lone surrogate: not a Unicode character"}
				}
				out = utf8.AppendRune(out, r)
			default:
				return "", d.syntax("bad escape")
			}
		case c < 0x20:
			return "", issuance.FieldError{Field: field, Rule: fmt.Sprintf("control character U+%04X in a JSON string", c)}
		case c < utf8.RuneSelf:
			out = append(out, c)
			d.pos++
		default:
			r, size := utf8.DecodeRune(d.b[d.pos:])
			if r == utf8.RuneError && size == 1 {
				return "", issuance.FieldError{Field: field, Rule: "must be valid UTF-8"}
			}
			out = append(out, d.b[d.pos:d.pos+size]...)
			d.pos += size
		}
	}
	return "", d.syntax("unterminated string")
}

// hex4 reads the four hex digits of a \uXXXX escape and moves past them.
func (d *lineDecoder) hex4() (rune, bool) {
	if len(d.b)-d.pos < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(d.b[d.pos:d.pos+4]), 16, 16)
	if err != nil {
		return 0, false
	}
	d.pos += 4
	return rune(n), true
}

// jsonKind names the JSON type a value starting with c has.
func jsonKind(c byte) string {
	switch {
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == 't' || c == 'f':
		return "boolean"
	case c == '-' || '0' <= c && c <= '9':
		return "number"
	}
	return "value that is not JSON"
}

// shortKey cuts an unknown key for an error message, keeping valid UTF-8.
func shortKey(k string) string {
	if len(k) > 40 {
		i := 40
		for i > 0 && !utf8.RuneStart(k[i]) {
			i--
		}
		k = k[:i] + "…"
	}
	q := strconv.QuoteToGraphic(k)
	return q[1 : len(q)-1]
}
