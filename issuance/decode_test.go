package issuance

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// validJSON returns the JSON of validApplication.
func validJSON(t testing.TB) []byte {
	t.Helper()
	b, err := json.Marshal(validApplication(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withField replaces (or adds) one top-level key of the valid JSON document.
func withField(t testing.TB, key, rawValue string) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(validJSON(t), &m); err != nil {
		t.Fatal(err)
	}
	m[key] = json.RawMessage(rawValue)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeApplicationRoundTrip(t *testing.T) {
	want := validApplication(t)
	got, err := DecodeApplication(validJSON(t))
	if err != nil {
		t.Fatalf("DecodeApplication: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", got.Person, want.Person)
	}
	if err := got.Validate(today); err != nil {
		t.Errorf("decoded application invalid: %v", err)
	}
}

func TestDecodeApplicationJSONNames(t *testing.T) {
	b := validJSON(t)
	for _, key := range []string{`"id_number":"001090012345"`, `"full_name":"Nguyễn Văn Đức"`,
		`"date_of_birth":"1990-03-07"`, `"sex":"M"`, `"previous_id_number":"012345678"`, `"portrait":"/9j/`,
		`"reason":"first_issue"`, `"intake_office":"001-HK01"`, `"delivery":{"method":"office","office":"001-HK01","address":""}`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

func TestDecodeApplicationNormalizes(t *testing.T) {
	got, err := DecodeApplication(withField(t, "full_name", `"  Nguye\u0302\u0303n   Văn  Đức "`))
	if err != nil {
		t.Fatal(err)
	}
	if got.FullName != "Nguyễn Văn Đức" {
		t.Errorf("FullName = %q, want NFC, trimmed, collapsed", got.FullName)
	}
}

func TestDecodeApplicationErrors(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		want    string // substring of the error, naming the field where there is one
		wantErr error
		field   string // FieldError.Field, when the error is about one field
	}{
		{"unknown field", withField(t, "nickname", `"Tí"`), "nickname: unknown field", nil, "nickname"},
		{"case-folded key", withField(t, "Full_Name", `"X"`), "Full_Name: unknown field", nil, "Full_Name"},
		{"duplicate key", []byte(`{"full_name":"A","full_name":"B"}`), "full_name: duplicate field", nil, "full_name"},
		{"unknown delivery field", withField(t, "delivery", `{"method":"post","zip":"100000"}`), "delivery.zip: unknown field", nil, "delivery.zip"},
		{"delivery array", withField(t, "delivery", `[{"method":"post"}]`), "delivery", nil, "delivery"},
		{"delivery wrong type", withField(t, "delivery", `"post"`), "delivery", nil, "delivery"},
		{"delivery.method wrong type", withField(t, "delivery", `{"method":1}`), "delivery.method", nil, "delivery.method"},
		{"number for string", withField(t, "id_number", `1090012345`), "id_number", nil, "id_number"},
		{"bool for sex", withField(t, "sex", `true`), "sex", nil, "sex"},
		{"bad date", withField(t, "date_of_birth", `"07/03/1990"`), "date_of_birth", nil, "date_of_birth"},
		{"date number", withField(t, "date_of_birth", `19900307`), "date_of_birth", nil, "date_of_birth"},
		{"bad base64", withField(t, "portrait", `"!!notbase64"`), "portrait", nil, "portrait"},
		{"portrait number", withField(t, "portrait", `5`), "portrait", nil, "portrait"},
		{"too large", append(withField(t, "spouse", `"`+strings.Repeat("a", MaxApplicationJSON)+`"`), ' '), "256 KiB", ErrTooLarge, ""},
		{"invalid UTF-8", []byte("{\"full_name\":\"\xff\"}"), "UTF-8", ErrInvalidUTF8, ""},
		{"two objects", append(validJSON(t), []byte(`{}`)...), "after the JSON object", ErrTrailing, ""},
		{"trailing garbage", append(validJSON(t), 'x'), "after the JSON object", ErrTrailing, ""},
		{"array", []byte(`[]`), "object", nil, ""},
		{"null", []byte(`null`), "object", nil, ""},
		{"string", []byte(`"x"`), "object", nil, ""},
		{"empty", []byte(``), "truncated", nil, ""},
		{"truncated", validJSON(t)[:50], "truncated", nil, ""},
		{"syntax", []byte(`{"full_name" "x"}`), "malformed", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeApplication(tt.data)
			if err == nil {
				t.Fatalf("DecodeApplication succeeded, want error containing %q", tt.want)
			}
			if !strings.HasPrefix(err.Error(), "issuance: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q: want prefix \"issuance: \" and %q", err, tt.want)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v is not %v", err, tt.wantErr)
			}
			var fe FieldError
			if tt.field != "" && (!errors.As(err, &fe) || fe.Field != tt.field) {
				t.Errorf("error %v: want a FieldError for %q", err, tt.field)
			}
		})
	}
}

func TestDecodeApplicationAcceptsMissingFields(t *testing.T) {
	a, err := DecodeApplication([]byte(`{"full_name":"Lê Lan"}`))
	if err != nil {
		t.Fatalf("DecodeApplication: %v", err)
	}
	if err := a.Validate(today); !errors.Is(err, ErrInvalidApplication) {
		t.Errorf("Validate of a partial application = %v, want ErrInvalidApplication", err)
	}
}

func FuzzDecodeApplication(f *testing.F) {
	f.Add(validJSON(f))
	f.Add([]byte(`{"full_name":"Nguyễn Văn Đức","date_of_birth":"1990-03-07","delivery":{"method":"post"}}`))
	f.Add([]byte(`{"portrait":"/9j/4AAQ","delivery":null}`))
	f.Add([]byte(`{"date_of_birth":"2000-02-29"}`))
	f.Add([]byte(`[1,2]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := DecodeApplication(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "issuance: ") {
				t.Errorf("error without package prefix: %v", err)
			}
			return
		}
		if !utf8.Valid(data) || len(data) > MaxApplicationJSON {
			t.Errorf("accepted invalid input")
		}
		_ = a.Validate(today) // must not panic
		if a.FullName != NormalizeName(a.FullName) {
			t.Errorf("FullName not normalized: %q", a.FullName)
		}
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		a2, err := DecodeApplication(b)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", b, err)
		}
		if !reflect.DeepEqual(a, a2) {
			t.Errorf("not stable under re-encoding:\n%+v\n%+v", a, a2)
		}
	})
}

// FuzzJPEGStructure checks the portrait structure walk never panics or loops, and that
// whatever it accepts starts with SOI and ends with EOI.
func FuzzJPEGStructure(f *testing.F) {
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xD9})
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0xFF, 0xD9})
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x02, 0xFF, 0xDA, 0x00, 0x02, 0x12, 0xFF, 0x00, 0xFF, 0xD0, 0x34, 0xFF, 0xFF, 0xD9})
	f.Fuzz(func(t *testing.T, b []byte) {
		if jpegStructure(b) == "" && (!bytes.HasPrefix(b, []byte{0xFF, 0xD8}) || !bytes.HasSuffix(b, []byte{0xFF, 0xD9})) {
			t.Fatalf("accepted % X", b)
		}
	})
}
