package issuance

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// NormalizeName returns s in Unicode NFC with leading and trailing white space removed and every run of white
// space inside collapsed to one ASCII space: "  Nguyễn   Văn\tĐức " -> "Nguyễn Văn Đức" (decomposed input such as
// "e\u0302\u0301" becomes the single letter "ế").
func NormalizeName(s string) string {
	return strings.Join(strings.Fields(norm.NFC.String(s)), " ")
}

// normalizeText NFC-normalizes s and trims surrounding white space, keeping inner spacing.
func normalizeText(s string) string {
	if !norm.NFC.IsNormalString(s) {
		s = norm.NFC.String(s)
	}
	return strings.TrimFunc(s, unicode.IsSpace)
}

// NormalizeText returns s in Unicode NFC with surrounding white space removed: the form every free-text
// field, note and reason is stored in.
func NormalizeText(s string) string { return normalizeText(s) }

// CheckNote applies the rules of a free-text note (a rejection reason, a reprint note) to s, already
// normalized: valid UTF-8 in NFC, at most maxRunes characters, no control, bidi, zero-width or other
// invisible characters. It returns a ValidationError naming field, or nil. An empty s passes.
func CheckNote(field, s string, maxRunes int) error {
	var v ValidationError
	checkText(func(f, r string) { v = append(v, FieldError{Field: f, Rule: r}) }, field, s, false, maxRunes)
	if len(v) == 0 {
		return nil
	}
	return v
}
