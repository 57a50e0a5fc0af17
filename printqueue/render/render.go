// Package render draws card faces (printqueue/layout designs) as PDF with
// codeberg.org/go-pdf/fpdf: Render writes one CR80-sized page per face for the
// card printer, ProofSheet lays cards out on A4 with crop marks for review.
//
// Fonts are embedded (printqueue/fonts); text is NFC-normalised and must stay in
// fonts.Repertoire; text is set by layout.Fit, the rule intake also checks: it
// wraps onto the lines its box allows, then shrinks down to the element's minimum
// size, and then fails with ErrTextOverflow naming the field; it is never cut.
package render

import (
	"bytes"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"strings"
	"sync"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/text/unicode/norm"

	"github.com/cccd-project/cccd/printqueue/fonts"
	"github.com/cccd-project/cccd/printqueue/layout"
)

// Errors callers branch on; returned errors wrap them with the card index, face
// and field.
var (
	ErrTextOverflow    = layout.ErrTextOverflow
	ErrUnsupportedChar = errors.New("render: character not in the card font")
	ErrNoCards         = errors.New("render: no cards to render")
)

// ElementError reports which element of which card could not be drawn, e.g.
// an address too long for its box. It unwraps to ErrTextOverflow,
// ErrUnsupportedChar or layout.ErrInvalidCard.
type ElementError struct {
	Card     int    // index in the cards passed to Render or ProofSheet
	IDNumber string // the card's personal identification number
	Face     string // "front" or "back"
	Element  string // e.g. "field PlaceOfResidence" (layout.Element.Describe)
	Err      error
}

func (e *ElementError) Error() string {
	msg := strings.TrimPrefix(strings.TrimPrefix(e.Err.Error(), "render: "), "layout: ")
	return fmt.Sprintf("render: card %d (%s) %s %s: %s", e.Card, e.IDNumber, e.Face, e.Element, msg)
}

func (e *ElementError) Unwrap() error { return e.Err }

// Portrait size limits in pixels: a 26 mm tall portrait printed at 300 dpi
// needs about 300 px; more than 4000 px a side is not a portrait.
const (
	minPortraitPx = 60
	maxPortraitPx = 4000
)

// ptMM is one typographic point in millimetres.
const ptMM = 25.4 / 72

// Typographic metrics of the sans font used to place lines, in em (layout.Fit sets the
// text with the same ones).
const (
	lineHeight = layout.LineHeight
	ascent     = layout.Ascent
	boldStroke = 0.04 // outline width that emboldens the regular face
)

// cardFonts holds the font bytes handed to every document. fpdf parses, hashes
// and subsets every UTF-8 font again for each document, so:
//   - DejaVu Sans Condensed, the only UTF-8 font, is cut once to
//     fonts.Repertoire (a 40 kB subset parses far faster than the 680 kB file);
//   - OCR-B is a simple cp1252 TrueType font (fonts.OCRBDefinition), which fpdf
//     embeds as is: the MRZ alphabet is ASCII.
type cardFonts struct{ sans, ocrbJSON, ocrbZ []byte }

var loadFonts = sync.OnceValue(func() cardFonts {
	def, z := fonts.OCRBDefinition()
	return cardFonts{
		sans:     fpdf.UTF8CutFont(bytes.Clone(fonts.Sans()), fonts.Repertoire()),
		ocrbJSON: def,
		ocrbZ:    z,
	}
})

// epoch is the fixed creation date written into every PDF. (Output is still not
// byte-for-byte reproducible: fpdf orders the tables of a font subset by map
// iteration. The drawn pages are identical.)
var epoch = time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)

// newDoc starts a PDF in millimetres whose pages are w x h, with the card fonts.
func newDoc(w, h float64) (*fpdf.Fpdf, error) {
	// "P" keeps Size as given; "L" would swap it.
	pdf := fpdf.NewCustom(&fpdf.InitType{UnitStr: "mm", OrientationStr: "P", Size: fpdf.SizeType{Wd: w, Ht: h}})
	pdf.SetMargins(0, 0, 0)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetCatalogSort(true) // resources in a stable order
	pdf.SetCreationDate(epoch)
	pdf.SetModificationDate(epoch)
	pdf.SetProducer("cccd printqueue/render", false)
	// Each document gets its own copy of the UTF-8 font: fpdf's subsetter
	// (utf8FontFile.getMetrics) appends into sub-slices of the font it was given,
	// writing into that array, so shared bytes would race between documents.
	// The simple font is only read.
	f := loadFonts()
	pdf.AddUTF8FontFromBytes("sans", "", bytes.Clone(f.sans))
	pdf.AddFontFromBytes("ocrb", "", f.ocrbJSON, f.ocrbZ)
	if err := pdf.Error(); err != nil {
		return nil, fmt.Errorf("render: load fonts: %w", err)
	}
	return pdf, nil
}

// Render writes one PDF holding, for each card in order, its front and back as
// two pages of the design's size (85.60 x 53.98 mm for CR80). Nothing is written
// to w unless every card renders.
func Render(w io.Writer, d layout.Design, cards ...layout.Card) error {
	if len(cards) == 0 {
		return ErrNoCards
	}
	if err := d.Validate(); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	pdf, err := newDoc(d.Width, d.Height)
	if err != nil {
		return err
	}
	for i, c := range cards {
		pc, err := prepare(pdf, i, c)
		if err != nil {
			return err
		}
		for _, side := range []struct {
			name string
			face layout.Face
		}{{"front", d.Front}, {"back", d.Back}} {
			pdf.AddPage()
			fd := faceDrawer{pdf: pdf, card: pc, index: i, face: side.name, w: d.Width, h: d.Height}
			if err := fd.draw(side.face); err != nil {
				return err
			}
		}
	}
	return output(pdf, w)
}

func output(pdf *fpdf.Fpdf, w io.Writer) error {
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("render: write pdf: %w", err)
	}
	return nil
}

// preparedCard is a validated card with NFC text and its portrait registered
// in the document.
type preparedCard struct {
	layout.Card
	portrait string // fpdf image name
	qr       string
}

func prepare(pdf *fpdf.Fpdf, i int, c layout.Card) (preparedCard, error) {
	if err := c.Validate(); err != nil {
		return preparedCard{}, fmt.Errorf("render: card %d: %w", i, err)
	}
	// NFC: the precomposed letters are the ones in the font and in fonts.Repertoire,
	// and what pdftotext and a screen reader give back.
	for _, p := range []*string{
		&c.FullName, &c.Sex, &c.Nationality, &c.PlaceOfOrigin, &c.PlaceOfBirth, &c.PlaceOfResidence,
		&c.IdentifyingFeatures, &c.ExpiryDate, &c.IssuingAuthority,
	} {
		*p = norm.NFC.String(*p)
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(c.Portrait))
	if err != nil {
		return preparedCard{}, fmt.Errorf("render: card %d: %w: Portrait: %w", i, layout.ErrInvalidCard, err)
	}
	if cfg.Width < minPortraitPx || cfg.Height < minPortraitPx || cfg.Width > maxPortraitPx || cfg.Height > maxPortraitPx {
		return preparedCard{}, fmt.Errorf("render: card %d: %w: Portrait: %dx%d px, want %d to %d px a side",
			i, layout.ErrInvalidCard, cfg.Width, cfg.Height, minPortraitPx, maxPortraitPx)
	}
	name := fmt.Sprintf("portrait%d", i)
	pdf.RegisterImageOptionsReader(name, fpdf.ImageOptions{ImageType: "JPG"}, bytes.NewReader(c.Portrait))
	if err := pdf.Error(); err != nil {
		return preparedCard{}, fmt.Errorf("render: card %d: %w: Portrait: %w", i, layout.ErrInvalidCard, err)
	}
	return preparedCard{Card: c, portrait: name, qr: layout.QRPayload(c)}, nil
}

// faceDrawer draws the elements of one face of one card with its top-left
// corner at (ox, oy).
type faceDrawer struct {
	pdf    *fpdf.Fpdf
	card   preparedCard
	index  int
	face   string
	ox, oy float64
	w, h   float64
}

func (fd *faceDrawer) draw(face layout.Face) error {
	fd.fill(face.Background)
	fd.pdf.Rect(fd.ox, fd.oy, fd.w, fd.h, "F")
	for _, e := range face.Elements {
		if err := fd.element(e); err != nil {
			return &ElementError{Card: fd.index, IDNumber: fd.card.IDNumber, Face: fd.face, Element: e.Describe(), Err: err}
		}
	}
	if err := fd.pdf.Error(); err != nil {
		return fmt.Errorf("render: card %d %s: %w", fd.index, fd.face, err)
	}
	return nil
}

func (fd *faceDrawer) element(e layout.Element) error {
	switch e.Kind {
	case layout.KindText:
		return fd.text(e, e.Text)
	case layout.KindField:
		v, _ := fd.card.Field(e.Field)
		if strings.TrimSpace(v) == "" {
			if e.Optional {
				return nil
			}
			return fmt.Errorf("%w: %s is empty", layout.ErrInvalidCard, e.Field)
		}
		return fd.text(e, v)
	case layout.KindPortrait:
		fd.portrait(e)
	case layout.KindQR:
		return fd.qr(e)
	case layout.KindMRZ:
		fd.mrz(e)
	case layout.KindEmblem:
		fd.emblem(e)
	case layout.KindBox:
		fd.box(e)
	case layout.KindLine:
		fd.stroke(e.Color, e.Line)
		fd.pdf.Line(fd.ox+e.X, fd.oy+e.Y, fd.ox+e.X+e.W, fd.oy+e.Y+e.H)
	}
	return nil
}

// text draws s fitted into the element's box (see fit).
func (fd *faceDrawer) text(e layout.Element, s string) error {
	s = norm.NFC.String(s)
	for _, r := range s {
		if !fonts.InRepertoire(r) {
			return fmt.Errorf("%w: %q (U+%04X)", ErrUnsupportedChar, r, r)
		}
	}
	pdf := fd.pdf
	f, err := layout.Fit(fonts.SansWidth, s, e)
	if err != nil {
		return err
	}
	lines, size := f.Lines, f.Size
	pdf.SetFont("sans", "", size)
	c := e.Color
	pdf.SetTextColor(int(c.R), int(c.G), int(c.B))
	em := size * ptMM
	if e.Bold {
		// Fill and stroke (PDF 32000-1 §9.3.6, Tr 2) instead of a second font:
		// every extra font costs fpdf a full parse and subset per document.
		pdf.SetTextRenderingMode(2)
		fd.stroke(c, em*boldStroke)
	}
	for i, l := range lines {
		x := e.X
		switch e.Align {
		case "C":
			x += (e.W - pdf.GetStringWidth(l)) / 2
		case "R":
			x += e.W - pdf.GetStringWidth(l)
		}
		pdf.Text(fd.ox+x, fd.oy+e.Y+ascent*em+float64(i)*lineHeight*em, l)
	}
	if e.Bold {
		pdf.SetTextRenderingMode(0)
	}
	return nil
}

func (fd *faceDrawer) fill(c layout.Color) { fd.pdf.SetFillColor(int(c.R), int(c.G), int(c.B)) }

func (fd *faceDrawer) stroke(c layout.Color, width float64) {
	fd.pdf.SetDrawColor(int(c.R), int(c.G), int(c.B))
	fd.pdf.SetLineWidth(width)
}
