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
