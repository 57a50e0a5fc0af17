// Package fonts embeds the TrueType fonts printed on card faces: DejaVu Sans
// Condensed, which covers every Vietnamese letter, and OCR-B for the machine
// readable zone (ICAO Doc 9303-3 §4.2: OCR-B, ISO 1073-2).
//
// The files are committed beside this package with their licences
// (DejaVu-LICENSE.txt, OCRB-LICENSE.txt). OCRB.ttf was converted once from
// Debian's CFF-flavoured OCRB.otf by convert-ocrb.py, because fpdf embeds only
// TrueType outlines. OCRB.json and OCRB.z are fpdf's simple-font definition of
// OCRB.ttf (cp1252, enough for the MRZ alphabet), generated with fpdf.MakeFont
// by `go test ./printqueue/fonts -update`.
package fonts

import (
	_ "embed"
	"strings"
)

var (
	//go:embed DejaVuSansCondensed.ttf
	sans []byte
	//go:embed OCRB.ttf
	ocrb []byte
	//go:embed OCRB.json
	ocrbJSON []byte
	//go:embed OCRB.z
	ocrbZ []byte
)

// Sans returns the TrueType bytes of DejaVu Sans Condensed. The slice is shared:
// callers must not modify it.
func Sans() []byte { return sans }

// OCRB returns the TrueType bytes of OCR-B. The slice is shared: callers must not
// modify it.
func OCRB() []byte { return ocrb }

// OCRBDefinition returns OCR-B as an fpdf simple TrueType font: the font
// definition (JSON) and the zlib-compressed font file, for
// fpdf.AddFontFromBytes. A simple font costs fpdf far less per document than a
// UTF-8 font, which it re-parses and subsets every time; the MRZ needs only
// ASCII. The slices are shared: callers must not modify them.
func OCRBDefinition() (definition, compressed []byte) { return ocrbJSON, ocrbZ }

// MRZAlphabet is the character set of a machine readable zone (ICAO Doc 9303-3 §4.3).
const MRZAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"

// repertoireRanges are the inclusive code point ranges a card face may print:
// ASCII, Latin-1, Latin Extended-A, the Vietnamese horned letters Ơ ơ Ư ư, the
// Vietnamese block of Latin Extended Additional (U+1EA0-U+1EF9) and common
// typographic punctuation.
var repertoireRanges = [][2]rune{
	{0x20, 0x7e},
	{0xa0, 0xff},
	{0x100, 0x17f},
	{0x1a0, 0x1a1},
	{0x1af, 0x1b0},
	{0x1ea0, 0x1ef9},
	{0x2013, 0x2014},
	{0x2018, 0x2019},
	{0x201c, 0x201d},
	{0x2026, 0x2026},
}

// Repertoire returns, in code point order, every character that Sans is
// guaranteed to draw on a card. Text outside it is refused by the renderer
// rather than printed as an empty box.
func Repertoire() string {
	var b strings.Builder
	for _, r := range repertoireRanges {
		for c := r[0]; c <= r[1]; c++ {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// InRepertoire reports whether r is in Repertoire.
func InRepertoire(r rune) bool {
	for _, rr := range repertoireRanges {
		if r >= rr[0] && r <= rr[1] {
			return true
		}
	}
	return false
}
