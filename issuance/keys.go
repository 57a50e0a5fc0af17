package issuance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// applicationKeys and deliveryKeys are the exact JSON keys of Application (Person flattened) and Delivery,
// read from the struct tags so that they cannot drift from the types.
var (
	applicationKeys = jsonKeys(reflect.TypeFor[Application]())
	deliveryKeys    = jsonKeys(reflect.TypeFor[Delivery]())
)

func jsonKeys(t reflect.Type) map[string]bool {
	keys := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous {
			for k := range jsonKeys(f.Type) {
				keys[k] = true
			}
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		keys[name] = true
	}
	return keys
}

// checkKeys walks the top-level object and the "delivery" object and rejects keys that are not exactly one of
// the declared JSON names, and keys that appear twice. Values are checked later by json.Unmarshal.
func checkKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return decodeError(err)
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("issuance: application must be a JSON object")
	}
	return walkObject(dec, applicationKeys, "")
}

func walkObject(dec *json.Decoder, allowed map[string]bool, prefix string) error {
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return decodeError(err)
		}
		key, _ := tok.(string)
		switch {
		case !allowed[key]:
			return FieldError{Field: prefix + key, Rule: "unknown field"}
		case seen[key]:
			return FieldError{Field: prefix + key, Rule: "duplicate field"}
		}
		seen[key] = true
		if prefix == "" && key == "delivery" {
			tok, err := dec.Token()
			if err != nil {
				return decodeError(err)
			}
			switch tok {
			case json.Delim('{'):
				if err := walkObject(dec, deliveryKeys, "delivery."); err != nil {
					return err
				}
			case json.Delim('['):
				return FieldError{Field: "delivery", Rule: "want object, got JSON array"}
			}
			continue // null or a scalar: reported by Unmarshal
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return decodeError(err)
		}
	}
	_, err := dec.Token() // the closing brace
	if err != nil {
		return decodeError(err)
	}
	return nil
}
