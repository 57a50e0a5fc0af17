package lds_test

import (
	"errors"
	"testing"

	"github.com/cccd-project/cccd/issuance/mrz"
	"github.com/cccd-project/cccd/personalization/lds"
)

// ICAO 9303-4 Appendix A (TD3) and 9303-5 Appendix A (TD1) specimens.
const (
	specimenTD3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<" + "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
	specimenTD1 = "I<UTOD231458907<<<<<<<<<<<<<<<" + "7408122F1204159UTO<<<<<<<<<<<6" + "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"
)

func TestDocumentDG1(t *testing.T) {
	for _, c := range []struct {
		zone, format, issuer, number, holder string
	}{
		{specimenTD3, "TD3", "UTO", "L898902C3", "ERIKSSON, ANNA MARIA"},
		{specimenTD1, "TD1", "UTO", "D23145890", "ERIKSSON, ANNA MARIA"},
	} {
		dg1, err := lds.EncodeDocumentDG1(c.zone)
		if err != nil {
			t.Fatalf("%s: %v", c.format, err)
		}
		d, err := lds.ParseDocumentDG1(dg1)
		if err != nil {
			t.Fatalf("%s: %v", c.format, err)
		}
		if d.Format != c.format || d.Issuer != c.issuer || d.DocumentNumber != c.number || d.HolderName() != c.holder ||
			d.BirthDate != "740812" || d.ExpiryDate != "120415" || d.MRZ != c.zone {
			t.Errorf("%s: %+v %q", c.format, d, d.HolderName())
		}
	}
	if _, err := lds.EncodeDocumentDG1(specimenTD3[:80]); !errors.Is(err, mrz.ErrLength) {
		t.Errorf("80 characters: %v", err)
	}
}

func FuzzParseDocumentDG1(f *testing.F) {
	for _, z := range []string{specimenTD3, specimenTD1} {
		b, err := lds.EncodeDocumentDG1(z)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := lds.ParseDocumentDG1(b)
		if err != nil {
			return
		}
		again, err := lds.EncodeDocumentDG1(d.MRZ)
		if err != nil {
			t.Fatalf("parsed zone does not encode: %v", err)
		}
		if d2, err := lds.ParseDocumentDG1(again); err != nil || d2 != d {
			t.Fatalf("round trip: %+v %v", d2, err)
		}
	})
}
