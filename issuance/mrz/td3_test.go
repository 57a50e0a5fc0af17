package mrz_test

import (
	"errors"
	"testing"

	"github.com/cccd-project/cccd/issuance/mrz"
)

// ICAO 9303-4 Appendix A: the specimen passport of Utopia.
const specimenTD3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<" + "L898902C36UTO7408122F1204159ZE184226B<<<<<10"

func TestParseTD3Specimen(t *testing.T) {
	got, err := mrz.ParseTD3(specimenTD3)
	if err != nil {
		t.Fatal(err)
	}
	want := mrz.TD3{DocumentCode: "P", Issuer: "UTO", Name: "ERIKSSON<<ANNA<MARIA", DocumentNumber: "L898902C3",
		Nationality: "UTO", BirthDate: "740812", Sex: "F", ExpiryDate: "120415", PersonalNumber: "ZE184226B"}
	if got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if _, err := mrz.ParseTD3(specimenTD3[:44] + "\n" + specimenTD3[44:]); err != nil {
		t.Errorf("two lines: %v", err)
	}
}

func TestParseTD3Errors(t *testing.T) {
	bad := []byte(specimenTD3)
	bad[44+9] = '7' // document number check digit
	cases := map[string]struct {
		in   string
		want error
	}{
		"short":       {specimenTD3[:87], mrz.ErrLength},
		"charset":     {"p" + specimenTD3[1:], mrz.ErrCharset},
		"check digit": {string(bad), mrz.ErrCheckDigit},
		"not a P":     {"I" + specimenTD3[1:], mrz.ErrField},
	}
	for name, c := range cases {
		if _, err := mrz.ParseTD3(c.in); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

func FuzzParseTD3(f *testing.F) {
	f.Add(specimenTD3)
	f.Fuzz(func(t *testing.T, s string) {
		m, err := mrz.ParseTD3(s)
		if err == nil && (m.DocumentCode == "" || len(m.BirthDate) != 6) {
			t.Fatalf("accepted %q as %+v", s, m)
		}
	})
}
