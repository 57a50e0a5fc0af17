package lds

import (
	"strings"

	"github.com/cccd-project/cccd/issuance/mrz"
	"github.com/cccd-project/cccd/smartcard/tlv"
)

// DG1 is the decoded DG1: the machine readable zone as stored and its fields.
type DG1 struct {
	MRZ    string  // the 90 characters, three 30-character lines without line breaks
	Fields mrz.TD1 // the parsed fields, check digits verified
}

// EncodeDG1 returns DG1 for a TD1 machine readable zone given as its 90 characters (the
// three 30-character lines concatenated, no line breaks) (ICAO 9303-10 §4.7.1):
//
//	61 { 5F1F <90 MRZ characters> }
//
// The MRZ must pass every check digit (mrz.ParseTD1).
func EncodeDG1(zone string) ([]byte, error) {
	if _, err := parseZone(zone); err != nil {
		return nil, invalid("dg1: %w", err)
	}
	return tlv.Encode(0x61, tlv.Encode(0x5F1F, []byte(zone))), nil
}

// ParseDG1 decodes DG1 and checks the MRZ's length, character set and every check digit
// (ICAO 9303-3 §4.9, 9303-5 §4.2.2, the Vietnamese layout of REFERENCE.md §4).
func ParseDG1(b []byte) (DG1, error) {
	v, err := unwrap(b, 0x61, "dg1")
	if err != nil {
		return DG1{}, err
	}
	m, err := unwrap(v, 0x5F1F, "dg1 mrz")
	if err != nil {
		return DG1{}, err
	}
	td1, err := parseZone(string(m))
	if err != nil {
		return DG1{}, malformed("dg1: %w", err)
	}
	return DG1{MRZ: string(m), Fields: td1}, nil
}

// parseZone parses exactly 90 MRZ characters: DG1 holds no line breaks.
func parseZone(zone string) (mrz.TD1, error) {
	if strings.ContainsAny(zone, "\r\n") {
		return mrz.TD1{}, mrz.ErrCharset
	}
	return mrz.ParseTD1(zone)
}
