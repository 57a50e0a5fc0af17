package issuance

import "golang.org/x/text/unicode/norm"

// vietnameseLetters is the alphabet allowed in personal names: the 26 ASCII letters (f, j, w, z occur in names
// of ethnic minorities and foreign-born parents), đ/Đ, and the 12 vowels a ă â e ê i o ô ơ u ư y with each of
// the five tone marks (grave, acute, hook above, tilde, dot below), in both cases, as NFC code points.
var vietnameseLetters = buildLetters()

// letterSet is a bit set of the runes below U+1F00 (every Vietnamese letter is): one test per character,
// which keeps the register import's text rules cheap.
type letterSet [0x1F00 / 64]uint64

func buildLetters() *letterSet {
	m := make(map[rune]bool, 256)
	for r := 'a'; r <= 'z'; r++ {
		m[r], m[r-'a'+'A'] = true, true
	}
	m['đ'], m['Đ'] = true, true
	// Base vowels, spelled with combining marks: breve U+0306, circumflex U+0302, horn U+031B.
	vowels := []string{"a", "a\u0306", "a\u0302", "e", "e\u0302", "i", "o", "o\u0302", "o\u031B", "u", "u\u031B", "y"}
	tones := []string{"", "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"}
	for _, v := range vowels {
		for _, t := range tones {
			for _, base := range []string{v, upperFirst(v)} {
				r := []rune(norm.NFC.String(base + t))
				if len(r) == 1 {
					m[r[0]] = true
				}
			}
		}
	}
	var set letterSet
	for r := range m {
		set[r/64] |= 1 << (r % 64)
	}
	return &set
}

func upperFirst(s string) string { return string(rune(s[0]-'a'+'A')) + s[1:] }

// isVietnameseLetter reports whether r is a letter of the Vietnamese alphabet (see vietnameseLetters).
func isVietnameseLetter(r rune) bool {
	return r >= 0 && r < 0x1F00 && vietnameseLetters[r/64]&(1<<(r%64)) != 0
}
