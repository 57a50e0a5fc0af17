// Package mrz encodes and parses the machine readable zone of TD1 identity cards (ICAO Doc 9303 parts 3 and 5)
// as written on Vietnamese chip identity cards: check digits, transliteration of Vietnamese names, the three
// 30-character lines, and the MRZ information that seeds BAC and PACE keys (ICAO 9303-11 §4.3, §9.7.3).
//
// The package is pure: no I/O.
package mrz

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Sentinel errors. Every error of this package wraps one of them.
var (
	ErrLength     = errors.New("mrz: wrong length")
	ErrCharset    = errors.New("mrz: character outside A-Z 0-9 <")
	ErrCheckDigit = errors.New("mrz: check digit mismatch")
	ErrField      = errors.New("mrz: invalid field")
)

// CheckDigitError reports which check digit of a parsed MRZ is wrong. errors.Is(err, ErrCheckDigit) is true.
type CheckDigitError struct {
	Field string // "document number", "birth date", "expiry date", "optional data", "composite"
	Want  byte   // the digit computed from the data
	Got   byte   // the character found in the MRZ
}

func (e *CheckDigitError) Error() string {
	return fmt.Sprintf("mrz: %s check digit is %q, want %q", e.Field, e.Got, e.Want)
}

// Is makes errors.Is(e, ErrCheckDigit) true.
func (e *CheckDigitError) Is(target error) bool { return target == ErrCheckDigit }

// charValue is the numeric value of an MRZ character (ICAO 9303-3 §4.9): 0-9 as themselves, A-Z as 10-35,
// the filler < as 0. ok is false for any other byte.
func charValue(c byte) (v int, ok bool) {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0'), true
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10, true
	case c == '<':
		return 0, true
	}
	return 0, false
}

// CheckDigit computes the ICAO 9303-3 §4.9 check digit of s: each character's value is multiplied by the
// repeating weights 7, 3, 1, and the sum modulo 10 is the check digit, returned as '0'..'9'.
// s may only hold 0-9, A-Z and <.
func CheckDigit(s string) (byte, error) {
	weights := [3]int{7, 3, 1}
	sum := 0
	for i := 0; i < len(s); i++ {
		v, ok := charValue(s[i])
		if !ok {
			return 0, fmt.Errorf("%w: %q at position %d", ErrCharset, s[i], i+1)
		}
		sum += v * weights[i%3]
	}
	return byte('0' + sum%10), nil
}

// Transliterate converts Vietnamese text to MRZ characters (ICAO 9303-3 §6). Each character is decomposed
// (NFD) and its combining marks dropped (ắ -> a, ư -> u); Đ/đ becomes D and ß becomes SS; letters are
// upper-cased; an apostrophe is omitted (9303-3 §6.A: "D'ARTAGNAN" -> "DARTAGNAN"; minority names such as
// "H'Hen" -> "HHEN"); every other character that is not A-Z (spaces, hyphens, digits, other scripts) becomes
// the filler <. Combining marks without a base letter are dropped. The output holds only A-Z and <, at most
// one character per input character (two for ß).
func Transliterate(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	var dec [utf8.UTFMax * 4]byte
	for _, r := range name {
		if r >= utf8.RuneSelf && r != 'Đ' && r != 'đ' && r != 'ß' && r != '’' && !unicode.Is(unicode.Mn, r) {
			// Decompose this one character (NFD) and keep its base: ắ -> a, a Hangul syllable -> its
			// first jamo (then a single <), so each input character gives at most one output character.
			r, _ = utf8.DecodeRune(norm.NFD.Append(dec[:0], []byte(string(r))...))
		}
		switch {
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r)
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case r == 'Đ' || r == 'đ':
			b.WriteByte('D')
		case r == 'ß':
			b.WriteString("SS")
		case r == '\'' || r == '’' || unicode.Is(unicode.Mn, r):
			// omitted
		default:
			b.WriteByte('<')
		}
	}
	return b.String()
}

// Name returns the MRZ name of a Vietnamese full name, untruncated (ICAO 9303-3 §4.6). Vietnamese names are
// written surname first, so the first word is the primary identifier and the rest are the secondary
// identifiers: "Nguyễn Văn Đức" -> "NGUYEN<<VAN<DUC". A one-word name gives just the surname ("LAN").
// Words that transliterate to nothing are skipped and runs of < inside a word become one <
// ("Lê-Nguyễn" -> "LE<NGUYEN"), so the output matches ^([A-Z]+(<[A-Z]+)*(<<[A-Z]+(<[A-Z]+)*)?)?$.
func Name(full string) string {
	var words []string
	for _, w := range strings.Fields(full) {
		if t := squeeze(Transliterate(w)); t != "" {
			words = append(words, t)
		}
	}
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return words[0] + "<<" + strings.Join(words[1:], "<")
}

// squeeze collapses runs of < to one and trims < at both ends.
func squeeze(s string) string {
	var b strings.Builder
	prev := true // drop leading <
	for i := 0; i < len(s); i++ {
		if s[i] == '<' {
			if !prev {
				b.WriteByte('<')
			}
			prev = true
			continue
		}
		b.WriteByte(s[i])
		prev = false
	}
	return strings.TrimRight(b.String(), "<")
}

// pad right-fills s with < to n characters.
func pad(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return s + strings.Repeat("<", n-len(s))
}

// validChars reports whether s holds only 0-9, A-Z and <.
func validChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if _, ok := charValue(s[i]); !ok {
			return false
		}
	}
	return true
}
