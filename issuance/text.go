package issuance

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// NormalizeName returns s in Unicode NFC with leading and trailing white space removed and every run of white
// space inside collapsed to one ASCII space: "  Nguyễn   Văn\tĐức " -> "Nguyễn Văn Đức" (decomposed input such as
// "e\u0302\u0301" becomes the single letter "ế"). Invalid UTF-8 is left as it is, for the rules to refuse.
func NormalizeName(s string) string {
	valid, nfc := textForm(s)
	switch {
	case !valid:
		return s
	case nfc && strings.TrimSpace(s) == s && !strings.Contains(s, "  ") && strings.IndexFunc(s, isOtherSpace) < 0:
		return s // already normal: the common case, without allocating
	}
	return strings.Join(strings.Fields(norm.NFC.String(s)), " ")
}

func isOtherSpace(r rune) bool { return r != ' ' && unicode.IsSpace(r) }

// textForm reports whether s is valid UTF-8 and whether it is in NFC. A string of ASCII and precomposed
// Vietnamese letters only (nearly every one) is NFC without asking package norm: none of those characters
// decomposes under NFC or composes with its neighbour.
func textForm(s string) (valid, nfc bool) {
	simple := true
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return false, false
		}
		simple = simple && isVietnameseLetter(r)
		i += size
	}
	return true, simple || norm.NFC.IsNormalString(s)
}

// normalizeText NFC-normalizes s and trims surrounding white space, keeping inner spacing. Invalid UTF-8
// is left as it is, for the rules to refuse.
func normalizeText(s string) string {
	valid, nfc := textForm(s)
	if !valid {
		return s
	}
	if !nfc {
		s = norm.NFC.String(s)
	}
	return strings.TrimFunc(s, unicode.IsSpace)
}

// NormalizeText returns s in Unicode NFC with surrounding white space removed: the form every free-text
// field, note and reason is stored in.
func NormalizeText(s string) string { return normalizeText(s) }

// CheckNote applies the rules of a free-text note (a rejection reason, a reprint note) to s, already
// normalized: valid UTF-8 in NFC, at most maxRunes characters, only Vietnamese letters, digits, spaces and
// ASCII punctuation (plus “ ” ‘ ’ – — …): no control, bidi, zero-width, emoji or other symbol that could
// hide text or steer a terminal. It returns a ValidationError naming field, or nil. An empty s passes.
func CheckNote(field, s string, maxRunes int) error {
	var v ValidationError
	add := func(f, r string) { v = append(v, FieldError{Field: f, Rule: r}) }
	if checkEncoding(add, field, s, maxRunes) {
		if r, ok := firstOutside(s, isNoteRune); ok {
			add(field, "only Vietnamese letters, digits, spaces and punctuation allowed; found "+describeRune(r))
		}
	}
	if len(v) == 0 {
		return nil
	}
	return v
}

// RequiredNote normalizes s (NormalizeText) and applies the note rules of CheckNote to it,
// refusing an empty note too: the rule of a reason someone must give (a reprint, a
// dead letter closed, a re-run). It returns the normalized note, or a ValidationError
// naming field.
func RequiredNote(field, s string, maxRunes int) (string, error) {
	s = normalizeText(s)
	if s == "" {
		return "", ValidationError{{Field: field, Rule: fmt.Sprintf("required: say why (1-%d characters)", maxRunes)}}
	}
	return s, CheckNote(field, s, maxRunes)
}

// checkEncoding applies the rules every text shares and reports whether the character rules may run:
// valid UTF-8 in NFC, at most maxRunes characters, no surrounding spaces.
func checkEncoding(add func(field, rule string), field, s string, maxRunes int) bool {
	switch valid, nfc := textForm(s); {
	case !valid:
		add(field, "must be valid UTF-8")
		return false
	case !nfc:
		add(field, "must be in Unicode NFC")
		return false
	}
	if utf8.RuneCountInString(s) > maxRunes {
		add(field, "longer than "+itoa(maxRunes)+" characters")
	}
	if strings.TrimSpace(s) != s {
		add(field, "leading or trailing spaces")
	}
	return true
}

// checkName applies the personal-name rules to one field.
func checkName(add func(field, rule string), field, s string, required bool) {
	if s == "" {
		if required {
			add(field, "required")
		}
		return
	}
	if !checkEncoding(add, field, s, MaxNameRunes) {
		return
	}
	if strings.Contains(s, "  ") {
		add(field, "repeated spaces")
	}
	if r, _ := utf8.DecodeRuneInString(s); !isVietnameseLetter(r) {
		add(field, "must start with a letter")
		return
	}
	if r, ok := firstOutside(s, isNameRune); ok {
		add(field, "only Vietnamese letters, spaces and ' - . allowed; found "+describeRune(r))
	}
}

// checkPlace applies the rules of text that goes on the card face and into DG13 (places, identifying
// features, a postal address) to one field.
func checkPlace(add func(field, rule string), field, s string, required bool) {
	if s == "" {
		if required {
			add(field, "required")
		}
		return
	}
	if !checkEncoding(add, field, s, MaxPlaceRunes) {
		return
	}
	if r, ok := firstOutside(s, isPlaceRune); ok {
		add(field, "only Vietnamese letters, digits, spaces and , . - / ( ) ' : ; allowed; found "+describeRune(r))
	}
}

// checkClosed applies a closed list to one required field.
func checkClosed(add func(field, rule string), field, s string, valid func(string) bool, rule string) {
	switch {
	case s == "":
		add(field, "required")
	case !valid(s):
		add(field, rule)
	}
}

func isNameRune(r rune) bool {
	return isVietnameseLetter(r) || r == ' ' || r == '\'' || r == '-' || r == '.'
}
func isPlaceRune(r rune) bool {
	return isNameRune(r) || '0' <= r && r <= '9' || strings.ContainsRune(",/():;", r)
}
func isNoteRune(r rune) bool {
	return isVietnameseLetter(r) || r >= 0x20 && r < 0x7F || strings.ContainsRune("“”‘’–—…", r)
}

func firstOutside(s string, ok func(rune) bool) (rune, bool) {
	for _, r := range s {
		if !ok(r) {
			return r, true
		}
	}
	return 0, false
}

// describeRune names a refused character for a rule, without reproducing one that is invisible or
// could reorder or hide text: `"<" (U+003C)`, "bidi or zero-width character U+202E".
func describeRune(r rune) string {
	code := fmt.Sprintf("U+%04X", r)
	switch {
	case unicode.IsControl(r):
		return "control character " + code
	case unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r):
		return "bidi or zero-width character " + code
	case r == utf8.RuneError:
		return "replacement character " + code + " (the text was damaged before it arrived)"
	case unicode.IsSpace(r):
		return "white space other than a space " + code
	case unicode.Is(unicode.So, r) || unicode.Is(unicode.Sk, r) || r >= 0x1F000:
		return "symbol or emoji " + code
	case unicode.IsMark(r):
		return "combining mark " + code
	case !unicode.IsPrint(r):
		return "invisible or unassigned character " + code
	case unicode.IsLetter(r):
		return fmt.Sprintf("%q (%s), a letter outside the Vietnamese alphabet", r, code)
	}
	return fmt.Sprintf("%q (%s)", r, code)
}
