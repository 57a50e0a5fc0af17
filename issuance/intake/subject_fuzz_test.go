package intake

import (
	"errors"
	"testing"

	"github.com/cccd-project/cccd/issuance"
)

// FuzzDecodeSubjectAccess: the applicant's proof, from the public network, decodes to a
// real date or is refused with an error naming what is wrong; it never panics.
func FuzzDecodeSubjectAccess(f *testing.F) {
	for _, s := range []string{`{"date_of_birth": "1990-03-15"}`, `{}`, `{"date_of_birth": ""}`, `{"date_of_birth": "1990-02-30"}`,
		`{"date_of_birth": "1990-03-15", "x": 1}`, `{"date_of_birth": 19900315}`, `[]`, `{"date_of_birth": "1990-03-15"} {}`,
		"{\"date_of_birth\": \"\xed\xa0\x80\"}", `{"DATE_OF_BIRTH": "1990-03-15"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := decodeSubjectAccess(b)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		if d.IsZero() {
			t.Fatalf("%q: accepted without a date", b)
		}
		if _, perr := issuance.ParseDate(d.String()); perr != nil {
			t.Fatalf("%q: accepted %v, not a real date: %v", b, d, perr)
		}
	})
}

func TestDecodeSubjectAccess(t *testing.T) {
	if d, err := decodeSubjectAccess([]byte(`{"date_of_birth": "1990-03-15"}`)); err != nil || d.String() != "1990-03-15" {
		t.Fatalf("good proof: %v %v", d, err)
	}
	var fe issuance.FieldError
	if _, err := decodeSubjectAccess([]byte(`{}`)); !errors.As(err, &fe) || fe.Field != "date_of_birth" {
		t.Fatalf("missing date: %v", err)
	}
	if _, err := decodeSubjectAccess([]byte(`{"date_of_birth": "1990-02-30"}`)); err == nil {
		t.Fatal("30 February accepted")
	}
}
