package registry

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/cccd-project/cccd/issuance"
)

func TestDecodeLineRoundTrip(t *testing.T) {
	err := Generator{Seed: 3}.Each(2000, func(r *Resident) error {
		line := r.AppendJSON(nil)
		got, err := DecodeLine(line)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if !reflect.DeepEqual(got, *r) {
			t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, *r)
		}
		if err := got.Validate(DefaultAsOf); err != nil {
			t.Fatalf("generated resident refused: %v\n%s", err, line)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDecodeLineErrors(t *testing.T) {
	for _, c := range []struct{ name, line, field, rule string }{
		{"empty", "", "line", "must be one JSON object"},
		{"array", "[]", "line", "must be one JSON object"},
		{"unknown key", `{"Full_Name":"An"}`, "Full_Name", "unknown field"},
		{"duplicate key", `{"full_name":"An","full_name":"Bình"}`, "full_name", "duplicate field"},
		{"number", `{"sex":1}`, "sex", "want string, got JSON number"},
		{"object", `{"sex":{}}`, "sex", "want string, got JSON object"},
		{"bool", `{"sex":true}`, "sex", "want string, got JSON boolean"},
		{"invalid utf-8", "{\"full_name\":\"Nguy\xe1n\"}", "full_name", "must be valid UTF-8"},
		{"invalid utf-8 escaped path", "{\"full_name\":\"\\n\xff\"}", "full_name", "must be valid UTF-8"},
		{"lone high surrogate", `{"full_name":"\ud800"}`, "full_name", "lone surrogate"},
		{"lone low surrogate", `{"full_name":"\udc00x"}`, "full_name", "lone surrogate"},
		{"high then not low", `{"full_name":"\ud800\u0041"}`, "full_name", "lone surrogate"},
		{"raw control", "{\"full_name\":\"a\x01b\"}", "full_name", "control character U+0001"},
		{"bad date", `{"date_of_birth":"1990-13-01"}`, "date_of_birth", "invalid date"},
		{"trailing", `{} {}`, "line", "data after the JSON object"},
		{"unterminated", `{"full_name":"An`, "line", "unterminated string"},
		{"missing colon", `{"full_name" "An"}`, "line", "expected ':'"},
		{"bad escape", `{"full_name":"\x"}`, "line", "bad escape"},
		{"long", "{\"full_name\":\"" + strings.Repeat("a", MaxLine) + "\"}", "line", "longer than 16 KiB"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeLine([]byte(c.line))
			var fe issuance.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(fe.Rule, c.rule) {
				t.Fatalf("got %v, want %s: ...%s...", err, c.field, c.rule)
			}
		})
	}
	// Escapes decode like encoding/json; a surrogate pair is one character; NFD becomes NFC.
	r, err := DecodeLine([]byte(`{"full_name":"A\"\\\/\n\u00e9\ud83d\ude00","place_of_origin":"` + norm.NFD.String("Hà Nội") + `","spouse":null}`))
	if err != nil || r.FullName != "A\"\\/ é😀" || r.PlaceOfOrigin != "Hà Nội" {
		t.Fatalf("got %q %q %v", r.FullName, r.PlaceOfOrigin, err)
	}
}

// FuzzDecodeLine: no input panics; whatever is accepted is valid UTF-8 in NFC in every field, and encoding
// it again and decoding that gives the same resident.
func FuzzDecodeLine(f *testing.F) {
	Generator{Seed: 5}.Each(8, func(r *Resident) error {
		f.Add(r.AppendJSON(nil))
		return nil
	})
	for _, s := range []string{`{}`, `{"full_name":"\ud800"}`, `{"full_name":"\ud83d\ude00"}`, "{\"full_name\":\"\xff\"}",
		`{"date_of_birth":null,"sex":"M"}`, `{"x":1}`, `{"full_name":"a","full_name":"b"}`, "\xEF\xBB\xBF{}", `[`, `{"phone":"\u0000"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := DecodeLine(line)
		if err != nil {
			var fe issuance.FieldError
			if !errors.As(err, &fe) || !utf8.ValidString(fe.Field) {
				t.Fatalf("error %v is not a FieldError with a printable field", err)
			}
			return
		}
		p := &r.Person
		for _, s := range []string{p.IDNumber, p.FullName, string(p.Sex), p.Nationality, p.Ethnicity, p.Religion,
			p.PlaceOfOrigin, p.PlaceOfResidence, p.IdentifyingFeatures, p.Father, p.Mother, p.Spouse,
			p.PreviousIDNumber, r.ResidenceProvince, r.RegisteredOffice, r.Phone} {
			if !utf8.ValidString(s) || !norm.NFC.IsNormalString(s) {
				t.Fatalf("accepted %q: not valid NFC", s)
			}
		}
		again, err := DecodeLine(r.AppendJSON(nil))
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("re-encoded line does not decode the same: %v\n%+v\n%+v", err, again, r)
		}
		r.Validate(DefaultAsOf) // must not panic
	})
}

func BenchmarkDecodeLine(b *testing.B) {
	var lines [][]byte
	Generator{Seed: 9}.Each(1000, func(r *Resident) error {
		lines = append(lines, r.AppendJSON(nil))
		return nil
	})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := DecodeLine(lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeValidateLine(b *testing.B) {
	var lines [][]byte
	Generator{Seed: 9}.Each(1000, func(r *Resident) error {
		lines = append(lines, r.AppendJSON(nil))
		return nil
	})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := DecodeLine(lines[i%len(lines)])
		if err == nil {
			err = r.Validate(DefaultAsOf)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}
