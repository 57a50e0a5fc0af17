package issuance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// keySet is the exact JSON keys of a struct type, read from its tags so that they cannot drift from the
// type. A key maps to the keys of its own value when that value is a struct decoded field by field, and
// to nil when the value is a scalar (or a type with its own UnmarshalJSON, such as Date).
type keySet map[string]keySet

var (
	applicationKeys = keysOf(reflect.TypeFor[Application]())
	personKeys      = keysOf(reflect.TypeFor[Person]())
)

var unmarshaler = reflect.TypeFor[json.Unmarshaler]()

func keysOf(t reflect.Type) keySet {
	keys := keySet{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous {
			for k, v := range keysOf(f.Type) {
				keys[k] = v
			}
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		var sub keySet
		if f.Type.Kind() == reflect.Struct && !reflect.PointerTo(f.Type).Implements(unmarshaler) {
			sub = keysOf(f.Type)
		}
		keys[name] = sub
	}
	return keys
}

// Limits of the strict JSON decoder.
const MaxJSONDepth = 16 // arrays and objects nested deeper are refused before decoding

// Errors of the strict JSON decoder that are not about one field.
var (
	ErrNotObject = errors.New("issuance: JSON: must be one JSON object")
	ErrTooDeep   = errors.New("issuance: JSON: nested deeper than 16 levels")
)

// DecodeJSON decodes one JSON object from data into the struct that v points to, as strictly as an
// application: valid UTF-8; no escaped lone surrogate ("\ud800" would otherwise become U+FFFD); no key
// that is not exactly one of the struct's JSON names (encoding/json alone would accept "Reason" for
// "reason"), none twice; no nesting deeper than MaxJSONDepth; nothing after the object; every value of
// the right type. A FieldError names the field at fault. It does not normalize or validate values.
func DecodeJSON(data []byte, v any) error {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return errors.New("issuance: DecodeJSON needs a pointer to a struct")
	}
	return decodeStrict(data, v, keysOf(t.Elem()))
}

func decodeStrict(data []byte, v any, keys keySet) error {
	if !utf8.Valid(data) {
		return ErrInvalidUTF8
	}
	if err := checkKeys(data, keys); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return ErrTrailing
	}
	return nil
}

// checkKeys walks the object and every object nested in a struct-valued key, and refuses keys that are not
// exactly one of the declared JSON names, keys that appear twice, values nested too deep and escaped
// lone surrogates. Value types are checked later by json.Unmarshal.
func checkKeys(data []byte, keys keySet) error {
	if depth, err := rawDepth(data); err != nil {
		return err
	} else if depth > MaxJSONDepth {
		return ErrTooDeep
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return decodeError(err)
	}
	if tok != json.Delim('{') {
		return ErrNotObject
	}
	return walkObject(dec, keys, "")
}

func walkObject(dec *json.Decoder, allowed keySet, prefix string) error {
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return decodeError(err)
		}
		key, _ := tok.(string)
		sub, ok := allowed[key]
		switch {
		case !ok:
			return FieldError{Field: prefix + shortKey(key), Rule: "unknown field"}
		case seen[key]:
			return FieldError{Field: prefix + key, Rule: "duplicate field"}
		}
		seen[key] = true
		if sub != nil && dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return decodeError(err)
			}
			if err := checkSurrogates(raw, prefix+key); err != nil {
				return err
			}
			raw = bytes.TrimSpace(raw)
			switch {
			case len(raw) > 0 && raw[0] == '{':
				inner := json.NewDecoder(bytes.NewReader(raw))
				inner.Token()
				if err := walkObject(inner, sub, prefix+key+"."); err != nil {
					return err
				}
			case len(raw) > 0 && raw[0] == '[':
				return FieldError{Field: prefix + key, Rule: "want object, got JSON array"}
			}
			continue // null or a scalar: reported by Unmarshal
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return decodeError(err)
		}
		if err := checkSurrogates(raw, prefix+key); err != nil {
			return err
		}
	}
	_, err := dec.Token() // the closing brace
	if err != nil {
		return decodeError(err)
	}
	return nil
}

// shortKey cuts an unknown key for an error message.
func shortKey(k string) string {
	if len(k) <= 40 {
		return k
	}
	i := 40
	for i > 0 && !utf8.RuneStart(k[i]) {
		i--
	}
	return k[:i] + "…"
}

// checkSurrogates refuses a \uXXXX escape of a UTF-16 surrogate that is not a high surrogate directly
// followed by a low one (RFC 8259 §8.2: such a string holds no Unicode character there). It reads raw
// JSON, where a backslash appears only inside strings.
func checkSurrogates(raw []byte, field string) error {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if i+1 < len(raw) && raw[i+1] != 'u' {
			i++ // \" \\ \n ...
			continue
		}
		r, ok := hex4(raw, i+2)
		if !ok {
			return nil // a syntax error, reported by the decoder
		}
		switch {
		case r >= 0xD800 && r <= 0xDBFF:
			lo, ok := rune(0), false
			if i+7 < len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
				lo, ok = hex4(raw, i+8)
			}
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return FieldError{Field: field, Rule: "escaped lone surrogate: not a Unicode character"}
			}
			i += 11
		case r >= 0xDC00 && r <= 0xDFFF:
			return FieldError{Field: field, Rule: "escaped lone surrogate: not a Unicode character"}
		default:
			i += 5
		}
	}
	return nil
}

// hex4 reads the four hex digits of a \uXXXX escape at b[at:].
func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[at:at+4]), 16, 16)
	return rune(n), err == nil
}

// rawDepth returns how deep arrays and objects nest in data, stopping early past MaxJSONDepth.
func rawDepth(data []byte) (int, error) {
	depth, max, inString := 0, 0, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			depth++
			if depth > max {
				max = depth
				if max > MaxJSONDepth {
					return max, nil
				}
			}
		case ']', '}':
			depth--
		}
	}
	return max, nil
}

// QuoteShort quotes a prefix of s for an error message: at most 32 characters, with "…" when cut.
func QuoteShort(s string) string {
	n := 0
	for i := range s {
		if n == 32 {
			return fmt.Sprintf("%+q…", s[:i])
		}
		n++
	}
	return fmt.Sprintf("%+q", s)
}
