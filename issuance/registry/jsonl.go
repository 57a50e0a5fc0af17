package registry

import (
	"bufio"
	"io"
	"unicode/utf8"
)

// AppendJSON appends r as one JSON object, with the same keys and values encoding/json gives (the Person
// fields flattened, then residence_province, registered_office, phone), without reflection or fmt.
func (r *Resident) AppendJSON(b []byte) []byte { return r.appendJSON(b, false) }

// appendJSON is AppendJSON; generated is true for residents straight from the generator, whose text comes
// from the embedded data files and is known to be valid UTF-8 without U+2028/U+2029 (TestPlacesData), so the
// UTF-8 validation pass is skipped.
func (r *Resident) appendJSON(b []byte, generated bool) []byte {
	p := &r.Person
	b = append(b, '{')
	b = appendField(b, "id_number", p.IDNumber, true, generated)
	b = appendField(b, "full_name", p.FullName, false, generated)
	b = append(b, `,"date_of_birth":`...)
	if p.DateOfBirth.IsZero() {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = p.DateOfBirth.AppendFormat(b)
		b = append(b, '"')
	}
	b = appendField(b, "sex", string(p.Sex), false, generated)
	b = appendField(b, "nationality", p.Nationality, false, generated)
	b = appendField(b, "ethnicity", p.Ethnicity, false, generated)
	b = appendField(b, "religion", p.Religion, false, generated)
	b = appendField(b, "place_of_origin", p.PlaceOfOrigin, false, generated)
	b = appendField(b, "place_of_residence", p.PlaceOfResidence, false, generated)
	b = appendField(b, "identifying_features", p.IdentifyingFeatures, false, generated)
	b = appendField(b, "father", p.Father, false, generated)
	b = appendField(b, "mother", p.Mother, false, generated)
	b = appendField(b, "spouse", p.Spouse, false, generated)
	b = appendField(b, "previous_id_number", p.PreviousIDNumber, false, generated)
	b = appendField(b, "residence_province", r.ResidenceProvince, false, generated)
	b = appendField(b, "registered_office", r.RegisteredOffice, false, generated)
	b = appendField(b, "phone", r.Phone, false, generated)
	return append(b, '}')
}

func appendField(b []byte, key, value string, first, generated bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return appendString(b, value, generated)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaping like encoding/json (quotes, backslash, control
// characters, <, >, &, U+2028, U+2029; invalid UTF-8 becomes U+FFFD).
func appendString(b []byte, s string, known bool) []byte {
	b = append(b, '"')
	safe := &plainASCII
	if known || utf8.ValidString(s) {
		safe = &plainValid // multi-byte runes are copied as they are, except U+2028/U+2029 (E2 80 A8/A9)
	}
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if safe[c] || (c == 0xE2 && known) {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// plainASCII marks the bytes appendString copies unchanged from any string: printable ASCII except " \ < > &.
// plainValid adds the bytes of multi-byte runes except E2, the lead byte of U+2028 and U+2029, for valid UTF-8.
var plainASCII, plainValid = func() (a, v [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		a[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	v = a
	for c := 0x80; c < 0x100; c++ {
		v[c] = c != 0xE2
	}
	return a, v
}()

// WriteJSONL writes n generated residents to w as JSON Lines (one AppendJSON object and "\n" per resident),
// buffered; it allocates no per-row encoder state, so a million rows take a few seconds.
func (g Generator) WriteJSONL(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	line := make([]byte, 0, 2048)
	err := g.Each(n, func(r *Resident) error {
		line = r.appendJSON(line[:0], true)
		line = append(line, '\n')
		_, err := bw.Write(line)
		return err
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}
