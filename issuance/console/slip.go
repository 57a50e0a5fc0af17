package console

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"rsc.io/qr"

	"github.com/cccd-project/cccd/issuance"
	"github.com/cccd-project/cccd/issuance/intake"
	"github.com/cccd-project/cccd/printqueue/fonts"
)

// clerkSlip sends the receipt slip of an application as a PDF for the citizen.
func (c *Console) clerkSlip(p *Page) error {
	d, err := c.intake.Show(p.Ctx(), p.User, p.R.PathValue("receipt"))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := writeSlip(&buf, d, c.statusURL(d.Receipt)); err != nil {
		return err
	}
	h := p.W.Header()
	h.Set("Content-Type", "application/pdf")
	h.Set("Content-Disposition", fmt.Sprintf(`inline; filename="bien-nhan-%s.pdf"`, d.Receipt))
	h.Set("Cache-Control", "private, no-store")
	_, err = p.W.Write(buf.Bytes())
	return err
}

// statusURL is the public status page of receipt, as printed on the slip.
func (c *Console) statusURL(receipt string) string {
	return c.cfg.PublicURL + "/console/status?receipt=" + url.QueryEscape(receipt)
}

// writeSlip writes an A5 receipt slip: the receipt number (large, and as a QR code of the
// status page's address), the applicant's name and ID number, the reason, where the
// card will be handed over, the date and the clerk. Text is set in DejaVu Sans, which
// has every Vietnamese letter (printqueue/fonts).
func writeSlip(w io.Writer, d intake.Detail, statusURL string) error {
	pdf := fpdf.New("P", "mm", "A5", "")
	pdf.SetMargins(14, 12, 14)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetTitle("Biên nhận hồ sơ "+d.Receipt, true)
	pdf.SetCreator("cccd console", true)
	pdf.SetCreationDate(d.CreatedAt)
	pdf.AddUTF8FontFromBytes("sans", "", bytes.Clone(fonts.Sans()))
	pdf.AddPage()
	const W = 148 - 28
	text := func(size float64, h float64, align, s string) {
		pdf.SetFont("sans", "", size)
		pdf.MultiCell(W, h, s, "", align, false)
	}
	pdf.SetTextColor(20, 30, 45)
	text(9, 4.5, "C", "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc")
	pdf.Ln(5)
	text(14, 7, "C", "GIẤY BIÊN NHẬN HỒ SƠ\nĐỀ NGHỊ CẤP THẺ CĂN CƯỚC")
	pdf.SetTextColor(110, 118, 134)
	text(8, 4, "C", "Receipt for an identity card application")
	pdf.SetTextColor(20, 30, 45)
	pdf.Ln(4)
	y := pdf.GetY()
	pdf.SetFont("sans", "", 9)
	pdf.CellFormat(W-36, 5, "Số biên nhận (receipt number)", "", 1, "L", false, 0, "")
	pdf.SetFont("sans", "", 20)
	pdf.CellFormat(W-36, 11, d.Receipt, "", 1, "L", false, 0, "")
	if err := drawQR(pdf, statusURL, 14+W-32, y, 32); err != nil {
		return err
	}
	pdf.SetY(y + 36)
	row := func(vi, en, v string) {
		pdf.SetFont("sans", "", 9)
		x, y := pdf.GetX(), pdf.GetY()
		pdf.MultiCell(40, 4.5, vi+"\n", "", "L", false)
		pdf.SetTextColor(110, 118, 134)
		pdf.SetFont("sans", "", 7)
		pdf.MultiCell(40, 3.5, en, "", "L", false)
		pdf.SetTextColor(20, 30, 45)
		below := pdf.GetY()
		pdf.SetXY(x+42, y)
		pdf.SetFont("sans", "", 10.5)
		pdf.MultiCell(W-42, 5, v, "", "L", false)
		pdf.SetY(max(below, pdf.GetY()) + 1.5)
	}
	reason := reasonNames[issuance.Reason(d.Reason)]
	delivery := "Nhận tại " + d.Application.Delivery.Office
	if d.Application.Delivery.Method == issuance.DeliveryPost {
		delivery = "Gửi qua bưu điện: " + d.Application.Delivery.Address
	}
	row("Họ, chữ đệm và tên", "Full name", d.FullName)
	row("Số định danh cá nhân", "Personal ID number", d.IDNumber)
	row("Lý do cấp", "Reason", reason.VI)
	row("Nhận thẻ", "Delivery", delivery)
	row("Nơi tiếp nhận", "Intake office", d.IntakeOffice)
	row("Ngày tiếp nhận", "Date", d.CreatedAt.In(vietnam).Format("15:04 02/01/2006"))
	row("Cán bộ tiếp nhận", "Clerk", d.Clerk)
	pdf.Ln(3)
	pdf.SetDrawColor(200, 206, 214)
	pdf.Line(14, pdf.GetY(), 14+W, pdf.GetY())
	pdf.Ln(3)
	text(9, 4.5, "L", "Tra cứu tình trạng hồ sơ bằng số biên nhận tại:\n"+statusURL)
	pdf.SetTextColor(110, 118, 134)
	text(7.5, 3.8, "L", "Follow the application with its receipt number at the address above or by scanning the QR code. "+
		"Bring this slip and your old card when you collect the new one.")
	pdf.SetTextColor(20, 30, 45)
	pdf.Ln(2)
	text(9, 4.5, "L", "Khi nhận thẻ, xin mang theo giấy biên nhận này và thẻ cũ (nếu có).")
	pdf.SetY(200)
	pdf.SetFont("sans", "", 7)
	pdf.SetTextColor(140, 146, 156)
	pdf.CellFormat(W, 4, "In lúc "+time.Now().In(vietnam).Format("15:04 02/01/2006"), "", 0, "R", false, 0, "")
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("console: slip: %w", err)
	}
	return pdf.Output(w)
}

// drawQR draws text as a QR code (level M) of side mm at x, y.
func drawQR(pdf *fpdf.Fpdf, text string, x, y, side float64) error {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return fmt.Errorf("console: slip: qr: %w", err)
	}
	mod := side / float64(code.Size+8)
	x0, y0 := x+4*mod, y+4*mod
	pdf.SetFillColor(0, 0, 0)
	for j := 0; j < code.Size; j++ {
		for i := 0; i < code.Size; {
			if !code.Black(i, j) {
				i++
				continue
			}
			k := i
			for k < code.Size && code.Black(k, j) {
				k++
			}
			pdf.Rect(x0+float64(i)*mod, y0+float64(j)*mod, float64(k-i)*mod, mod*1.02, "F")
			i = k
		}
	}
	return nil
}
