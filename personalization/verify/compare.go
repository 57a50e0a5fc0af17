package verify

import (
	"strings"

	"github.com/cccd-project/cccd/issuance/mrz"
	"github.com/cccd-project/cccd/personalization/lds"
)

// Compare returns the fields on which DG1 (the MRZ, ICAO 9303-5 §4.2.2 in the Vietnamese
// layout of REFERENCE.md §4) and DG13 (REFERENCE.md §5) disagree, or nil. Both were
// signed by the Document Signer, so a disagreement means the issuer signed inconsistent
// data: the card must not be trusted.
//
//   - id_number: DG13 field 1 must be the 12 digits of MRZ line 1's optional data, and
//     the document number its last 9 digits;
//   - name: the MRZ name of DG13 field 2, transliterated and truncated to 30 characters
//     by truncatedName, written apart from mrz.TruncateName so that a fault in the one that
//     wrote the card is not repeated by the one that checks it;
//   - date_of_birth: DG13 dd/mm/yyyy against the MRZ YYMMDD;
//   - sex: "Nam" M, "Nữ" F;
//   - expiry_date: DG13 dd/mm/yyyy (or "Không thời hạn") against the MRZ YYMMDD (or <<<<<<).
func Compare(dg1 lds.DG1, dg13 lds.DG13) []string {
	f := dg1.Fields
	var diff []string
	if dg13.IDNumber != f.OptionalData1 || len(dg13.IDNumber) != 12 || f.DocumentNumber != dg13.IDNumber[3:] {
		diff = append(diff, "id_number")
	}
	if trimFill(truncatedName(mrz.Name(dg13.FullName))) != trimFill(f.Name) {
		diff = append(diff, "name")
	}
	if yymmdd(dg13.DateOfBirth) != f.BirthDate {
		diff = append(diff, "date_of_birth")
	}
	if sexCode(dg13.Sex) != f.Sex {
		diff = append(diff, "sex")
	}
	wantExpiry := mrz.NoExpiry
	if dg13.ExpiryDate != lds.NoExpiry {
		wantExpiry = yymmdd(dg13.ExpiryDate)
	}
	if wantExpiry != f.ExpiryDate {
		diff = append(diff, "expiry_date")
	}
	return diff
}

// truncatedName cuts an MRZ name to the 30 characters of the TD1 name field (ICAO 9303-3
// §4.6): a longer name is cut so that the field ends in a letter. If the 30th character would
// be a filler, the last word of two letters or more after the primary identifier loses its
// last letter and the field ends with the initial of the word cut off.
func truncatedName(s string) string {
	const n = mrz.TD1LineLen
	if len(s) <= n {
		return s
	}
	cut := s[:n]
	if cut[n-1] != '<' {
		return cut
	}
	next := strings.TrimLeft(s[n:], "<")
	floor := strings.Index(s, "<<") + 2 // first character of the secondary identifiers
	if floor < 2 || floor >= n {
		floor = 0 // no room for a secondary identifier: the primary is cut
	}
	for i := n - 2; i > floor && next != ""; i-- {
		if cut[i] != '<' && cut[i-1] != '<' && cut[i+1] == '<' {
			return cut[:i] + cut[i+1:n-1] + "<" + next[:1]
		}
	}
	return strings.TrimRight(cut, "<")
}

func trimFill(s string) string { return strings.TrimRight(s, "<") }

// yymmdd turns dd/mm/yyyy into YYMMDD; anything else into "" (which never matches a
// parsed MRZ date).
func yymmdd(ddmmyyyy string) string {
	if len(ddmmyyyy) != 10 || ddmmyyyy[2] != '/' || ddmmyyyy[5] != '/' {
		return ""
	}
	s := ddmmyyyy[8:10] + ddmmyyyy[3:5] + ddmmyyyy[0:2]
	if strings.Trim(s, "0123456789") != "" {
		return ""
	}
	return s
}

func sexCode(vietnamese string) string {
	switch vietnamese {
	case "Nam":
		return "M"
	case "Nữ":
		return "F"
	}
	return ""
}
