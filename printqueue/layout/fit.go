package layout

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// ErrTextOverflow is matched (errors.Is) when a text cannot be set in its element even at
// the element's smallest size.
var ErrTextOverflow = errors.New("layout: text does not fit its box")

// Typographic metrics of the sans font used to place lines, in em.
const (
	LineHeight = 1.18 // distance between baselines
	Ascent     = 0.86 // from the top of a text box to the first baseline
	Descent    = 0.24 // below the last baseline, kept inside the box
)

// ptMM is one typographic point in millimetres.
const ptMM = 25.4 / 72

// Measure gives the width in millimetres of text set at size points (printqueue/fonts.SansWidth
// for the card font).
type Measure func(text string, size float64) float64

// Fitted is how a text is set in its element: its lines, at Size points.
type Fitted struct {
	Lines []string
	Size  float64
}

// MaxLines is how many lines of a field fit its height at size points, at most e.Lines when
// the design caps it; a text element is one line.
func (e Element) MaxLines(size float64) int {
	if e.Kind != KindField {
		return 1
	}
	em := size * ptMM
	n := max(1, int((e.H-(Ascent+Descent)*em)/(LineHeight*em)+1e-9)+1)
	if e.Lines > 0 {
		n = min(n, e.Lines)
	}
	return n
}

// Fit sets s (NFC) in element e: the name-fitting rule of every card face. From the
// element's size down to its minimum size in quarter points, the text is wrapped at spaces
// onto as many lines as the box holds at that size (at most e.Lines): a long name first
// wraps onto a second line at full size, and only then does its type get smaller. Words are
// never broken and nothing is cut: if no size fits, Fit returns ErrTextOverflow saying how
// much room the text needs.
func Fit(m Measure, s string, e Element) (Fitted, error) {
	words := strings.Fields(norm.NFC.String(s))
	minSize := e.MinSize
	if minSize == 0 {
		minSize = e.Size
	}
	for size := e.Size; size >= minSize-1e-9; size -= 0.25 {
		if lines, ok := wrap(m, size, words, e.W, e.MaxLines(size)); ok {
			return Fitted{Lines: lines, Size: size}, nil
		}
	}
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return Fitted{}, fmt.Errorf("%w: %q needs more than %d line(s) of %.1f mm in %.1f mm even at %.2g pt",
		ErrTextOverflow, s, e.MaxLines(minSize), e.W, e.H, minSize)
}

// wrap fills lines greedily with words no wider than w; ok is false if a word is wider than
// w or more than maxLines lines are needed.
func wrap(m Measure, size float64, words []string, w float64, maxLines int) ([]string, bool) {
	var lines []string
	cur := ""
	for _, word := range words {
		if m(word, size) > w {
			return nil, false
		}
		if cur == "" {
			cur = word
			continue
		}
		if next := cur + " " + word; m(next, size) <= w {
			cur = next
			continue
		}
		lines = append(lines, cur)
		cur = word
		if len(lines) >= maxLines {
			return nil, false
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines, len(lines) <= maxLines
}

// FitField sets value in every element of design d that prints field (a name from
// FieldNames), as the renderer will: the check intake runs before a chip is written. The
// error names the face and says how much room the text needs.
func FitField(m Measure, d Design, field, value string) error {
	for _, f := range []struct {
		name string
		face Face
	}{{"front", d.Front}, {"back", d.Back}} {
		for _, e := range f.face.Elements {
			if e.Kind != KindField || e.Field != field || (e.Optional && strings.TrimSpace(value) == "") {
				continue
			}
			if _, err := Fit(m, value, e); err != nil {
				return fmt.Errorf("%s %s face: %w", d.Name, f.name, err)
			}
		}
	}
	return nil
}
