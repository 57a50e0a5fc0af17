// Package layout describes printed card faces as data: the Card whose fields are
// printed, and the designs in circulation ("can-cuoc-2024", Circular 16/2024;
// "cccd-2021") as positions in millimetres of every label, field, portrait,
// QR code and MRZ on the front and back of an ID-1 card (ISO/IEC 7810, CR80).
//
// The package is pure: it parses and validates designs, and knows nothing of
// PDF. printqueue/render draws a Card with a Design.
package layout

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// CR80 card body size in millimetres (ISO/IEC 7810 ID-1).
const (
	CardWidth  = 85.60
	CardHeight = 53.98
)

// DefaultDesign names the design used for new issuance (Circular 16/2024).
const DefaultDesign = "can-cuoc-2024"

// ErrInvalidDesign is matched (errors.Is) by every validation failure of a Design.
var ErrInvalidDesign = errors.New("layout: invalid design")

// ErrUnknownDesign is returned by Lookup for a name that is not embedded.
var ErrUnknownDesign = errors.New("layout: unknown design")

// Kind is what an Element draws.
type Kind string

// Element kinds.
const (
	KindText     Kind = "text"     // static text: Text at (X,Y) top-left, aligned in W
	KindField    Kind = "field"    // a Card field wrapped in the box (X,Y,W,H), shrunk down to MinSize (see Fit)
	KindPortrait Kind = "portrait" // the JPEG portrait, cropped to fill (X,Y,W,H)
	KindQR       Kind = "qr"       // QR code of QRPayload, W x W including a quiet zone
	KindMRZ      Kind = "mrz"      // the 3 MRZ lines in OCR-B, 30 characters spanning W, lines spread over H
	KindEmblem   Kind = "emblem"   // neutral vector placeholder for the national emblem, diameter W
	KindBox      Kind = "box"      // rectangle (X,Y,W,H): outline Color (if Line > 0), Fill
	KindLine     Kind = "line"     // line from (X,Y) to (X+W,Y+H)
)

var kinds = []Kind{KindText, KindField, KindPortrait, KindQR, KindMRZ, KindEmblem, KindBox, KindLine}

// Color is an sRGB colour, written "#rrggbb" in design files.
type Color struct{ R, G, B uint8 }

// UnmarshalJSON parses "#rrggbb".
func (c *Color) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("layout: colour: %w", err)
	}
	var r, g, bl uint8
	if len(s) != 7 || s[0] != '#' {
		return fmt.Errorf("layout: colour %q: want #rrggbb", s)
	}
	if _, err := fmt.Sscanf(s, "#%02x%02x%02x", &r, &g, &bl); err != nil {
		return fmt.Errorf("layout: colour %q: want #rrggbb: %w", s, err)
	}
	*c = Color{r, g, bl}
	return nil
}

// MarshalJSON writes "#rrggbb".
func (c Color) MarshalJSON() ([]byte, error) {
	return json.Marshal(fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B))
}

// Element is one thing drawn on a face. Positions are millimetres from the
// top-left corner of the card; font sizes are points.
type Element struct {
	Kind     Kind    `json:"kind"`
	X        float64 `json:"x"`
	Y        float64 `json:"y"`
	W        float64 `json:"w,omitempty"`
	H        float64 `json:"h,omitempty"`
	Text     string  `json:"text,omitempty"`     // KindText
	Field    string  `json:"field,omitempty"`    // KindField: a name from FieldNames
	Optional bool    `json:"optional,omitempty"` // KindField: may be empty
	Font     string  `json:"font,omitempty"`     // "sans" (default) or "ocrb"
	Bold     bool    `json:"bold,omitempty"`
	Size     float64 `json:"size,omitempty"`    // points
	MinSize  float64 `json:"minSize,omitempty"` // points; 0 = Size (never shrink)
	Lines    int     `json:"lines,omitempty"`   // KindField: at most this many lines (0: as many as H holds)
	Align    string  `json:"align,omitempty"`   // "L" (default), "C", "R"
	Color    Color   `json:"color"`             // text or outline colour
	Fill     *Color  `json:"fill,omitempty"`    // KindBox, KindEmblem
	Line     float64 `json:"line,omitempty"`    // outline width, mm
	Dash     bool    `json:"dash,omitempty"`
}

// Face is one printed side of the card.
type Face struct {
	Background Color     `json:"background"`
	Elements   []Element `json:"elements"`
}

// Design is a complete card design: both faces at the card size.
type Design struct {
	Name   string  `json:"name"`
	Title  string  `json:"title"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
	Front  Face    `json:"front"`
	Back   Face    `json:"back"`
}

// ParseDesign decodes and validates a design file (JSON). Unknown keys are
// rejected so that a typo cannot silently drop an element property.
func ParseDesign(b []byte) (Design, error) {
	var d Design
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return Design{}, fmt.Errorf("%w: %w", ErrInvalidDesign, err)
	}
	if dec.More() {
		return Design{}, fmt.Errorf("%w: trailing data after the design object", ErrInvalidDesign)
	}
	if err := d.Validate(); err != nil {
		return Design{}, err
	}
	return d, nil
}

// Validate checks the geometry and references of every element: known kinds,
// fields and fonts, sizes between 2 and 40 pt, and every box inside the card.
func (d Design) Validate() error {
	if d.Name == "" {
		return fmt.Errorf("%w: name is empty", ErrInvalidDesign)
	}
	if !(d.Width > 0 && d.Width <= 300 && d.Height > 0 && d.Height <= 300) {
		return fmt.Errorf("%w: %s: size %gx%g mm out of range", ErrInvalidDesign, d.Name, d.Width, d.Height)
	}
	for _, f := range []struct {
		name string
		face Face
	}{{"front", d.Front}, {"back", d.Back}} {
		for i, e := range f.face.Elements {
			if err := d.validateElement(e); err != nil {
				return fmt.Errorf("%w: %s %s element %d (%s): %w", ErrInvalidDesign, d.Name, f.name, i, e.Describe(), err)
			}
		}
	}
	return nil
}

// Describe names an element in error messages: its field, text or kind.
func (e Element) Describe() string {
	switch {
	case e.Field != "":
		return "field " + e.Field
	case e.Text != "":
		t := e.Text
		if utf8.RuneCountInString(t) > 24 {
			t = string([]rune(t)[:24]) + "…"
		}
		return fmt.Sprintf("text %q", t)
	}
	return string(e.Kind)
}

func (d Design) validateElement(e Element) error {
	if !slices.Contains(kinds, e.Kind) {
		return fmt.Errorf("unknown kind %q", e.Kind)
	}
	for _, v := range []float64{e.X, e.Y, e.W, e.H, e.Size, e.MinSize, e.Line} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return errors.New("a number is not finite")
		}
	}
	const eps = 1e-6
	x0, y0, x1, y1 := min(e.X, e.X+e.W), min(e.Y, e.Y+e.H), max(e.X, e.X+e.W), max(e.Y, e.Y+e.H)
	if e.Kind == KindQR || e.Kind == KindEmblem {
		y1 = e.Y + e.W
	}
	if x0 < -eps || y0 < -eps || x1 > d.Width+eps || y1 > d.Height+eps {
		return fmt.Errorf("box (%g,%g)-(%g,%g) mm leaves the %gx%g mm card", x0, y0, x1, y1, d.Width, d.Height)
	}
	if e.Kind != KindLine && (e.W < 0 || e.H < 0) {
		return errors.New("negative width or height")
	}
	if e.Line < 0 || e.Line > 5 {
		return fmt.Errorf("line width %g mm out of range 0-5", e.Line)
	}
	if e.Font != "" && e.Font != "sans" && e.Font != "ocrb" {
		return fmt.Errorf("unknown font %q (want sans or ocrb)", e.Font)
	}
	if e.Align != "" && e.Align != "L" && e.Align != "C" && e.Align != "R" {
		return fmt.Errorf("unknown align %q (want L, C or R)", e.Align)
	}
	switch e.Kind {
	case KindText, KindField:
		if e.Size < 2 || e.Size > 40 {
			return fmt.Errorf("size %g pt out of range 2-40", e.Size)
		}
		if e.MinSize != 0 && (e.MinSize < 2 || e.MinSize > e.Size) {
			return fmt.Errorf("minSize %g pt out of range 2-%g", e.MinSize, e.Size)
		}
		if e.W <= 0 {
			return errors.New("text needs a width w")
		}
		if e.Lines < 0 || e.Lines > 20 {
			return fmt.Errorf("lines %d out of range 0-20", e.Lines)
		}
	}
	switch e.Kind {
	case KindText:
		if e.Text == "" || !utf8.ValidString(e.Text) {
			return errors.New("text is empty or not UTF-8")
		}
	case KindField:
		if _, ok := (Card{}).Field(e.Field); !ok {
			return fmt.Errorf("unknown field %q (want one of %s)", e.Field, strings.Join(fieldNames, ", "))
		}
		if e.H <= 0 {
			return errors.New("field needs a height h")
		}
	case KindPortrait, KindMRZ, KindBox:
		if e.W <= 0 || e.H <= 0 {
			return errors.New("needs a positive w and h")
		}
	case KindQR, KindEmblem:
		if e.W <= 0 {
			return errors.New("needs a positive w")
		}
	}
	return nil
}

//go:embed designs/*.json
var designFS embed.FS

var loadDesigns = sync.OnceValues(func() (map[string]Design, error) {
	entries, err := designFS.ReadDir("designs")
	if err != nil {
		return nil, fmt.Errorf("layout: %w", err)
	}
	m := map[string]Design{}
	for _, e := range entries {
		b, err := designFS.ReadFile("designs/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("layout: %w", err)
		}
		d, err := ParseDesign(b)
		if err != nil {
			return nil, fmt.Errorf("layout: designs/%s: %w", e.Name(), err)
		}
		if d.Name+".json" != e.Name() {
			return nil, fmt.Errorf("%w: designs/%s holds design %q", ErrInvalidDesign, e.Name(), d.Name)
		}
		m[d.Name] = d
	}
	return m, nil
})

// Lookup returns the embedded design with the given name ("can-cuoc-2024",
// "cccd-2021"), with element slices of its own that the caller may change.
func Lookup(name string) (Design, error) {
	m, err := loadDesigns()
	if err != nil {
		return Design{}, err
	}
	d, ok := m[name]
	if !ok {
		return Design{}, fmt.Errorf("%w %q (want one of %s)", ErrUnknownDesign, name, strings.Join(sortedKeys(m), ", "))
	}
	d.Front.Elements = slices.Clone(d.Front.Elements)
	d.Back.Elements = slices.Clone(d.Back.Elements)
	return d, nil
}

// Names returns the names of the embedded designs, sorted.
func Names() []string {
	m, _ := loadDesigns()
	return sortedKeys(m)
}

func sortedKeys(m map[string]Design) []string {
	var names []string
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}
