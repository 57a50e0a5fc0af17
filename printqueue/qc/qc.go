// Package qc is the quality control of printed cards: the data printed on the face
// must equal the data on the chip (REFERENCE.md §8: a card that fails QC is
// destroyed and made again).
//
// The face is read from the document that was sent to the printer, not from the
// data it was made from: Extract runs poppler's pdftotext on the PDF and returns
// every word with its position; ReadFace cuts the words into the zones of the
// design's fields and MRZ (as a camera-based QC station reads zones of a card);
// Compare checks each zone against DG1 (the MRZ) and DG13 (the personal data) that
// the station read back from the locked chip. Everything but Extract is pure.
package qc

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/cccd-project/cccd/personalization/lds"
	"github.com/cccd-project/cccd/printqueue/layout"
)

// ErrMismatch is matched (errors.Is) by the error of Check when the face and the chip
// disagree.
var ErrMismatch = errors.New("qc: printed face differs from chip")

// ErrUnreadable means the document does not hold a readable card face (page count,
// page size or MRZ zone).
var ErrUnreadable = errors.New("qc: card face unreadable")

// Face is the text read off the two printed faces of one card: the text in each
// field zone of the design (keyed by layout field name, see layout.FieldNames) and
// the three MRZ lines.
type Face struct {
	Fields map[string]string
	MRZ    [3]string
}

// Mismatch is one field whose printed text differs from the chip.
type Mismatch struct {
	Field   string // layout field name, or "MRZ line N"
	Printed string
	Chip    string
}

// MismatchError lists every field that differs. Its text names the fields only (it
// becomes the card's spoilage reason); the values are in Mismatches.
type MismatchError struct {
	Mismatches []Mismatch
}

func (e *MismatchError) Error() string {
	names := make([]string, len(e.Mismatches))
	for i, m := range e.Mismatches {
		names[i] = m.Field
	}
	return "qc: printed face differs from chip in " + strings.Join(names, ", ")
}

// Unwrap makes errors.Is(err, ErrMismatch) true.
func (e *MismatchError) Unwrap() error { return ErrMismatch }

// chipField gives, for a layout field printed on a face, the value the chip holds
// (REFERENCE.md §5, DG13 fields 1-12 and 15). Fields absent from the chip (the issuing
// authority) are not compared. PlaceOfBirth of the 2024 design is printed from the
// place of origin (DG13 field 8), the only place the application and the chip carry.
var chipField = map[string]func(lds.DG13) string{
	"IDNumber":            func(d lds.DG13) string { return d.IDNumber },
	"FullName":            func(d lds.DG13) string { return d.FullName },
	"DateOfBirth":         func(d lds.DG13) string { return d.DateOfBirth },
	"Sex":                 func(d lds.DG13) string { return d.Sex },
	"Nationality":         func(d lds.DG13) string { return d.Nationality },
	"PlaceOfOrigin":       func(d lds.DG13) string { return d.PlaceOfOrigin },
	"PlaceOfBirth":        func(d lds.DG13) string { return d.PlaceOfOrigin },
	"PlaceOfResidence":    func(d lds.DG13) string { return d.PlaceOfResidence },
	"IdentifyingFeatures": func(d lds.DG13) string { return d.IdentifyingFeatures },
	"IssueDate":           func(d lds.DG13) string { return d.IssueDate },
	"ExpiryDate":          func(d lds.DG13) string { return d.ExpiryDate },
	"PreviousIDNumber":    func(d lds.DG13) string { return d.PreviousIDNumber },
}

// caseless fields are printed in capitals on some designs (the name, Circular
// 16/2024) and stored as written on the chip.
var caseless = map[string]bool{"FullName": true}

// Compare returns every difference between the face and the chip's DG1 and DG13:
// the three MRZ lines must equal DG1 character for character (ICAO 9303-10 §4.7.1);
// each printed field must equal its DG13 field after NFC normalisation and white
// space folding (the name also ignoring letter case). Fields the face does not print
// are not compared. The result is sorted by field name, MRZ lines last.
func Compare(face Face, dg1 lds.DG1, dg13 lds.DG13) []Mismatch {
	var out []Mismatch
	for name, text := range face.Fields {
		get, ok := chipField[name]
		if !ok {
			continue
		}
		printed, chip := Normalize(text), Normalize(get(dg13))
		equal := printed == chip
		if caseless[name] {
			equal = strings.ToUpper(printed) == strings.ToUpper(chip)
		}
		if !equal {
			out = append(out, Mismatch{Field: name, Printed: printed, Chip: chip})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	for i := 0; i < 3; i++ {
		var chip string
		if len(dg1.MRZ) == 90 {
			chip = dg1.MRZ[30*i : 30*i+30]
		}
		if face.MRZ[i] != chip {
			out = append(out, Mismatch{Field: fmt.Sprintf("MRZ line %d", i+1), Printed: face.MRZ[i], Chip: chip})
		}
	}
	return out
}

// Check is Compare as an error: nil when the face equals the chip, else a
// *MismatchError (errors.Is ErrMismatch).
func Check(face Face, dg1 lds.DG1, dg13 lds.DG13) error {
	if m := Compare(face, dg1, dg13); len(m) > 0 {
		return &MismatchError{Mismatches: m}
	}
	return nil
}

// Normalize folds a text for comparison: NFC (Vietnamese letters have precomposed
// and combining forms), white space runs to one space, trimmed.
func Normalize(s string) string {
	return strings.Join(strings.Fields(norm.NFC.String(s)), " ")
}

// ReadFace reads the card whose front and back are pages[0] and pages[1] (as
// printqueue/render writes them) in the zones of design d: the words whose centre
// lies in a field's box (with a margin of Margin mm) form that field's text, in
// reading order; the words in the MRZ box form its three lines.
func ReadFace(pages []Page, d layout.Design) (Face, error) {
	if len(pages) < 2 {
		return Face{}, fmt.Errorf("%w: %d pages, want front and back", ErrUnreadable, len(pages))
	}
	face := Face{Fields: map[string]string{}}
	mrzSeen := false
	for i, f := range []layout.Face{d.Front, d.Back} {
		p := pages[i]
		if !near(p.Width*mmPerPoint, d.Width) || !near(p.Height*mmPerPoint, d.Height) {
			return Face{}, fmt.Errorf("%w: page %d is %.1f x %.1f mm, design %s is %.2f x %.2f mm", ErrUnreadable,
				i+1, p.Width*mmPerPoint, p.Height*mmPerPoint, d.Name, d.Width, d.Height)
		}
		for _, e := range f.Elements {
			switch e.Kind {
			case layout.KindField:
				face.Fields[e.Field] = strings.Join(zone(p, e), " ")
			case layout.KindMRZ:
				lines := zone(p, e)
				if len(lines) != 3 {
					return Face{}, fmt.Errorf("%w: MRZ zone holds %d lines, want 3", ErrUnreadable, len(lines))
				}
				for j, l := range lines {
					face.MRZ[j] = strings.ReplaceAll(l, " ", "")
				}
				mrzSeen = true
			}
		}
	}
	if !mrzSeen {
		return Face{}, fmt.Errorf("%w: design %s prints no MRZ", ErrUnreadable, d.Name)
	}
	return face, nil
}

// Margin is how far (mm) outside its box a word's centre may lie and still belong
// to a zone.
const Margin = 0.5

const mmPerPoint = 25.4 / 72

func near(a, b float64) bool { return a-b < 0.5 && b-a < 0.5 }

// zone returns the lines of text whose words' centres lie in the element's box,
// top to bottom, each line's words left to right joined by a space.
func zone(p Page, e layout.Element) []string {
	var ws []Word
	for _, w := range p.Words {
		cx, cy := (w.XMin+w.XMax)/2*mmPerPoint, (w.YMin+w.YMax)/2*mmPerPoint
		if cx >= e.X-Margin && cx <= e.X+e.W+Margin && cy >= e.Y-Margin && cy <= e.Y+e.H+Margin {
			ws = append(ws, w)
		}
	}
	sort.SliceStable(ws, func(i, j int) bool {
		if sameLine(ws[i], ws[j]) {
			return ws[i].XMin < ws[j].XMin
		}
		return ws[i].YMin < ws[j].YMin
	})
	var lines []string
	for i, w := range ws {
		if i > 0 && sameLine(ws[i-1], w) {
			lines[len(lines)-1] += " " + w.Text
			continue
		}
		lines = append(lines, w.Text)
	}
	return lines
}

// sameLine: the vertical centre of one word lies within the other's extent.
func sameLine(a, b Word) bool {
	cb := (b.YMin + b.YMax) / 2
	ca := (a.YMin + a.YMax) / 2
	return (cb >= a.YMin && cb <= a.YMax) || (ca >= b.YMin && ca <= b.YMax)
}
