package render

import (
	"fmt"
	"math"
	"strings"

	"codeberg.org/go-pdf/fpdf"
	"rsc.io/qr"

	"github.com/cccd-project/cccd/printqueue/layout"
)

// portrait draws the card's JPEG scaled to cover the element's box and clipped
// to it, centred, so that any aspect ratio fills the frame undistorted.
func (fd *faceDrawer) portrait(e layout.Element) {
	pdf := fd.pdf
	opt := fpdf.ImageOptions{ImageType: "JPG"}
	info := pdf.GetImageInfo(fd.card.portrait)
	if info == nil {
		return // prepare registered it; fpdf's sticky error reports otherwise
	}
	iw, ih := info.Width(), info.Height()
	scale := math.Max(e.W/iw, e.H/ih)
	dw, dh := iw*scale, ih*scale
	x, y := fd.ox+e.X, fd.oy+e.Y
	pdf.ClipRect(x, y, e.W, e.H, false)
	pdf.ImageOptions(fd.card.portrait, x+(e.W-dw)/2, y+(e.H-dh)/2, dw, dh, false, opt, 0, "")
	pdf.ClipEnd()
}

// qrQuietZone is the light margin around the symbol, in modules. ISO/IEC 18004
// §9.1 asks for 4; the card design uses 2 and keeps the surrounding area light.
const qrQuietZone = 2

// qr draws the QR code of the card's QR payload (ISO/IEC 18004, error correction
// level M) as vector squares filling e.W x e.W including the quiet zone. The encoder
// (rsc.io/qr) applies data mask 0 instead of scoring all eight masks, which cost a
// third of the rendering time; every reader decodes any mask, and TestQRDecodes reads
// the printed code back with zbar.
func (fd *faceDrawer) qr(e layout.Element) error {
	code, err := qr.Encode(fd.card.qr, qr.M)
	if err != nil {
		return fmt.Errorf("render: qr: %w", err)
	}
	pdf := fd.pdf
	n := code.Size
	mod := e.W / float64(n+2*qrQuietZone)
	x0, y0 := fd.ox+e.X, fd.oy+e.Y
	pdf.SetFillColor(255, 255, 255)
	pdf.Rect(x0, y0, e.W, e.W, "F")
	fd.fill(e.Color)
	// One rectangle per horizontal run of dark modules, a hair taller than a
	// module so that rasterisers leave no seams between rows.
	for y := 0; y < n; y++ {
		for x := 0; x < n; {
			if !code.Black(x, y) {
				x++
				continue
			}
			run := 1
			for x+run < n && code.Black(x+run, y) {
				run++
			}
			pdf.Rect(x0+float64(x+qrQuietZone)*mod, y0+float64(y+qrQuietZone)*mod, float64(run)*mod, mod*1.02, "F")
			x += run
		}
	}
	return nil
}

// mrz draws the three TD1 lines in OCR-B (ICAO Doc 9303-3 §4.2), sized so that
// 30 characters span e.W (76.2 mm at the nominal 2.54 mm pitch of 10 characters
// per inch) and spread evenly down e.H.
func (fd *faceDrawer) mrz(e layout.Element) {
	pdf := fd.pdf
	pdf.SetFont("ocrb", "", 10)
	size := 10 * e.W / pdf.GetStringWidth(strings.Repeat("<", 30))
	pdf.SetFontSize(size)
	c := e.Color
	pdf.SetTextColor(int(c.R), int(c.G), int(c.B))
	pitch := e.H / 3
	for i, l := range fd.card.MRZ {
		pdf.Text(fd.ox+e.X, fd.oy+e.Y+float64(i)*pitch+0.72*size*ptMM, l)
	}
}

// emblem draws a neutral placeholder where the national emblem is printed: a
// disc in e.Color with a ring and a five-pointed star in e.Fill. It is plain
// vector art, deliberately not a copy of the emblem or of any security print.
func (fd *faceDrawer) emblem(e layout.Element) {
	pdf := fd.pdf
	r := e.W / 2
	cx, cy := fd.ox+e.X+r, fd.oy+e.Y+r
	gold := layout.Color{R: 0xf2, G: 0xc2, B: 0x30}
	if e.Fill != nil {
		gold = *e.Fill
	}
	fd.fill(gold)
	pdf.Circle(cx, cy, r, "F")
	fd.fill(e.Color)
	pdf.Circle(cx, cy, r*0.86, "F")
	fd.fill(gold)
	outer, inner := r*0.55, r*0.55*0.382
	pts := make([]fpdf.PointType, 0, 10)
	for i := 0; i < 10; i++ {
		rad := outer
		if i%2 == 1 {
			rad = inner
		}
		a := -math.Pi/2 + float64(i)*math.Pi/5
		pts = append(pts, fpdf.PointType{X: cx + rad*math.Cos(a), Y: cy + rad*math.Sin(a)})
	}
	pdf.Polygon(pts, "F")
}

// box draws a rectangle: filled with e.Fill if set, outlined in e.Color if
// e.Line > 0, dashed if e.Dash.
func (fd *faceDrawer) box(e layout.Element) {
	pdf := fd.pdf
	style := ""
	if e.Fill != nil {
		fd.fill(*e.Fill)
		style += "F"
	}
	if e.Line > 0 {
		fd.stroke(e.Color, e.Line)
		style += "D"
	}
	if style == "" {
		return
	}
	if e.Dash {
		pdf.SetDashPattern([]float64{0.8, 0.5}, 0)
	}
	pdf.Rect(fd.ox+e.X, fd.oy+e.Y, e.W, e.H, style)
	if e.Dash {
		pdf.SetDashPattern(nil, 0)
	}
}
