package render

import (
	"fmt"
	"io"

	"codeberg.org/go-pdf/fpdf"

	"github.com/cccd-project/cccd/printqueue/layout"
)

// A4 proof sheet geometry, millimetres.
const (
	a4W, a4H      = 210.0, 297.0
	proofTop      = 24.0 // first card row
	proofGapX     = 10.0 // between front and back
	proofGapY     = 14.0 // between rows (room for captions and crop marks)
	cropLen       = 4.0  // crop mark length
	cropOffset    = 1.5  // gap between the card edge and its crop marks
	proofCaptionY = 2.2  // caption baseline above a card
)

// ProofSheet writes an A4 PDF for review: each card's front and back side by
// side at true size, as many rows per page as fit, with crop marks at every
// card corner and a header marking the sheet as a proof. Nothing is written
// to w unless every card renders.
func ProofSheet(w io.Writer, d layout.Design, cards ...layout.Card) error {
	if len(cards) == 0 {
		return ErrNoCards
	}
	if err := d.Validate(); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	pdf, err := newDoc(a4W, a4H)
	if err != nil {
		return err
	}
	perPage := max(1, int((a4H-proofTop-10+proofGapY)/(d.Height+proofGapY)))
	pages := (len(cards) + perPage - 1) / perPage
	left := (a4W - 2*d.Width - proofGapX) / 2
	for i, c := range cards {
		row := i % perPage
		if row == 0 {
			pdf.AddPage()
			proofHeader(pdf, d, i/perPage+1, pages)
		}
		pc, err := prepare(pdf, i, c)
		if err != nil {
			return err
		}
		y := proofTop + float64(row)*(d.Height+proofGapY)
		for j, side := range []struct {
			name, caption string
			face          layout.Face
		}{{"front", "Mặt trước / Front", d.Front}, {"back", "Mặt sau / Back", d.Back}} {
			x := left + float64(j)*(d.Width+proofGapX)
			fd := faceDrawer{pdf: pdf, card: pc, index: i, face: side.name, ox: x, oy: y, w: d.Width, h: d.Height}
			if err := fd.draw(side.face); err != nil {
				return err
			}
			pdf.SetFont("sans", "", 6.5)
			pdf.SetTextColor(60, 60, 60)
			pdf.Text(x+cropOffset+1, y-proofCaptionY, fmt.Sprintf("%d. %s · %s", i+1, side.caption, pc.IDNumber))
			// A light hairline shows the card edge where the face is white.
			pdf.SetDrawColor(200, 200, 200)
			pdf.SetLineWidth(0.05)
			pdf.Rect(x, y, d.Width, d.Height, "D")
			cropMarks(pdf, x, y, d.Width, d.Height)
		}
	}
	return output(pdf, w)
}

func proofHeader(pdf *fpdf.Fpdf, d layout.Design, page, pages int) {
	pdf.SetFont("sans", "", 9)
	pdf.SetTextColor(0, 0, 0)
	pdf.Text(14, 11, fmt.Sprintf("Bản in thử / Print proof — %s", d.Name))
	pdf.SetFont("sans", "", 7)
	pdf.SetTextColor(170, 20, 40)
	pdf.Text(14, 15.5, "Không có giá trị sử dụng / Not a valid identity document")
	pdf.SetTextColor(60, 60, 60)
	s := fmt.Sprintf("Trang / Page %d/%d", page, pages)
	pdf.Text(a4W-14-pdf.GetStringWidth(s), 11, s)
}

// cropMarks draws two short hairlines outside each corner of the w x h card at
// (x, y), on the card's edge lines, clear of the card itself.
func cropMarks(pdf *fpdf.Fpdf, x, y, w, h float64) {
	pdf.SetDrawColor(0, 0, 0)
	pdf.SetLineWidth(0.1)
	for _, cx := range []float64{x, x + w} {
		for _, cy := range []float64{y, y + h} {
			dx, dy := -1.0, -1.0
			if cx > x {
				dx = 1
			}
			if cy > y {
				dy = 1
			}
			pdf.Line(cx+dx*cropOffset, cy, cx+dx*(cropOffset+cropLen), cy)
			pdf.Line(cx, cy+dy*cropOffset, cx, cy+dy*(cropOffset+cropLen))
		}
	}
}
