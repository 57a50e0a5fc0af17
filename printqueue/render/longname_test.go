package render

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cccd-project/cccd/printqueue/fonts"
	"github.com/cccd-project/cccd/printqueue/layout"
	"github.com/cccd-project/cccd/printqueue/qc"
)

// TestSansWidthIsFPDFs: the width layout.Fit measures with (fonts.SansWidth, read from the
// font's own tables) is the width fpdf sets the text with, for every character of the card
// repertoire and for whole names, so that intake and the printer agree on what fits.
func TestSansWidthIsFPDFs(t *testing.T) {
	pdf, err := newDoc(layout.CardWidth, layout.CardHeight)
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"Nguyễn Văn Đức", "Công Tôn Nữ Thị Hoàng Hạ Uyên Phương Thảo Ngọc Bích"}
	for _, r := range fonts.Repertoire() {
		texts = append(texts, string(r))
	}
	for _, size := range []float64{4.5, 5.75, 8} {
		pdf.SetFont("sans", "", size)
		for _, s := range texts {
			if got, want := fonts.SansWidth(s, size), pdf.GetStringWidth(s); got-want > 1e-9 || want-got > 1e-9 {
				t.Fatalf("%q at %g pt: fonts %.6f mm, fpdf %.6f mm", s, size, got, want)
			}
		}
	}
}

// TestRenderLongNames renders the faces of a 51- and a 100-character name on both designs:
// the name wraps onto two lines inside its box and print QC reads it back whole. The front
// faces are golden PNGs (testdata/longname-*.png) to look at.
func TestRenderLongNames(t *testing.T) {
	names := map[string]string{
		"51":  "Công Tôn Nữ Thị Hoàng Hạ Uyên Phương Thảo Ngọc Bích",
		"100": "Đặng Thị Hồng Nhung Phương Thảo Ngọc Bích Diễm Quỳnh Hương Giang Bảo Ngọc Ánh Dương Tuyết Mai Lan Vy",
	}
	for _, dn := range []string{"can-cuoc-2024", "cccd-2021"} {
		for n, name := range names {
			t.Run(dn+"-"+n, func(t *testing.T) {
				c := Sample(0)
				name = strings.ToUpper(name) // as printed (personalization/prep.Printed)
				c.FullName = name
				d := design(t, dn)
				pdf := renderFile(t, d, c)
				b, err := os.ReadFile(pdf)
				if err != nil {
					t.Fatal(err)
				}
				pages, err := qc.Extract(t.Context(), b)
				if err != nil {
					t.Fatal(err)
				}
				face, err := qc.ReadFace(pages, d)
				if err != nil {
					t.Fatal(err)
				}
				if got := qc.Normalize(face.Fields["FullName"]); got != name {
					t.Errorf("print QC reads the name as %q", got)
				}
				text := string(tool(t, "pdftotext", "-enc", "UTF-8", pdf, "-"))
				if !strings.Contains(collapse(text), name) {
					t.Errorf("pdftotext lacks the whole name:\n%s", text)
				}
				compareGolden(t, rasterize(t, pdf, 1, goldenDPI), filepath.Join("testdata", "longname-"+dn+"-"+n+".png"))
			})
		}
	}
}
