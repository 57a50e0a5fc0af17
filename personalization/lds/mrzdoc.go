package lds

import (
	"strings"

	"github.com/cccd-project/cccd/issuance/mrz"
	"github.com/cccd-project/cccd/smartcard/tlv"
)

// Document is DG1 of a travel document of any State: a TD1 card (ICAO 9303-5) or a TD3
// passport (ICAO 9303-4). Fill characters are trimmed from the fields.
type Document struct {
	Format         string `json:"format"` // "TD1" or "TD3"
	MRZ            string `json:"mrz"`    // the zone as stored, without line breaks
	DocumentCode   string `json:"document_code"`
	Issuer         string `json:"issuer"` // issuing State, ICAO 9303-3 code: "VNM", "D", "FRA"
	DocumentNumber string `json:"document_number"`
	Nationality    string `json:"nationality"`
	BirthDate      string `json:"birth_date"`  // YYMMDD
	Sex            string `json:"sex"`         // M, F or <
	ExpiryDate     string `json:"expiry_date"` // YYMMDD
	Name           string `json:"name"`        // primary<<secondary identifiers
}

// HolderName returns the name as "PRIMARY, SECONDARY" with < turned into spaces.
func (d Document) HolderName() string {
	p, s, _ := strings.Cut(d.Name, "<<")
	clean := func(x string) string { return strings.Join(strings.Fields(strings.ReplaceAll(x, "<", " ")), " ") }
	if s == "" {
		return clean(p)
	}
	return clean(p) + ", " + clean(s)
}

// EncodeDocumentDG1 returns DG1 for a TD1 (90 characters) or TD3 (88 characters) zone,
// which must pass every check digit (ICAO 9303-10 §4.7.1).
func EncodeDocumentDG1(zone string) ([]byte, error) {
	if _, err := documentOf(zone); err != nil {
		return nil, invalid("dg1: %w", err)
	}
	return tlv.Encode(0x61, tlv.Encode(0x5F1F, []byte(zone))), nil
}

// ParseDocumentDG1 decodes DG1 of any State's document, TD1 or TD3, checking the MRZ's
// length, character set and every check digit.
func ParseDocumentDG1(b []byte) (Document, error) {
	v, err := unwrap(b, 0x61, "dg1")
	if err != nil {
		return Document{}, err
	}
	m, err := unwrap(v, 0x5F1F, "dg1 mrz")
	if err != nil {
		return Document{}, err
	}
	d, err := documentOf(string(m))
	if err != nil {
		return Document{}, malformed("dg1: %w", err)
	}
	return d, nil
}

func documentOf(zone string) (Document, error) {
	if strings.ContainsAny(zone, "\r\n") {
		return Document{}, mrz.ErrCharset
	}
	if len(zone) == mrz.TD3Len {
		t, err := mrz.ParseTD3(zone)
		if err != nil {
			return Document{}, err
		}
		return Document{Format: "TD3", MRZ: zone, DocumentCode: t.DocumentCode, Issuer: t.Issuer,
			DocumentNumber: t.DocumentNumber, Nationality: t.Nationality, BirthDate: t.BirthDate, Sex: t.Sex,
			ExpiryDate: t.ExpiryDate, Name: t.Name}, nil
	}
	t, err := parseZone(zone)
	if err != nil {
		return Document{}, err
	}
	return Document{Format: "TD1", MRZ: zone, DocumentCode: t.DocumentCode, Issuer: t.Issuer,
		DocumentNumber: t.DocumentNumber, Nationality: t.Nationality, BirthDate: t.BirthDate, Sex: t.Sex,
		ExpiryDate: t.ExpiryDate, Name: t.Name}, nil
}
