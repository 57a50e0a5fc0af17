package render

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/cccd-project/cccd/issuance/portrait"
	"github.com/cccd-project/cccd/printqueue/layout"
)

var update = flag.Bool("update", false, "rewrite the golden PNGs in testdata/")

// Golden comparison: a pixel differs when a channel moves by more than
// pixelTolerance; a page matches when at most maxDiffRatio of its pixels differ
// (room for anti-aliasing differences between poppler builds, not for a moved
// line of text).
const (
	pixelTolerance = 64
	maxDiffRatio   = 0.005
	goldenDPI      = "150"
)

// longAddress wraps to several lines and shrinks on both designs.
const longAddress = "Số 1234/56/78 đường Nguyễn Thị Minh Khai, Khu phố 5, Phường Đa Kao, Quận 1, " +
	"Thành phố Hồ Chí Minh (tạm trú tại tổ dân phố số 12, ấp Bình Thạnh Đông, xã Bình Thạnh Trung, " +
	"huyện Lấp Vò, tỉnh Đồng Tháp)"

func tool(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		pkg := "poppler-utils"
		if name == "zbarimg" {
			pkg = "zbar-tools"
		}
		t.Fatalf("%s not found: install Debian package %s (%v)", name, pkg, err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(path, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

func renderFile(t *testing.T, d layout.Design, cards ...layout.Card) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Render(&buf, d, cards...); err != nil {
		t.Fatalf("Render: %v", err)
	}
	path := filepath.Join(t.TempDir(), "card.pdf")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func design(t testing.TB, name string) layout.Design {
	t.Helper()
	d, err := layout.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// collapse joins all whitespace runs into one space, so that a wrapped text
// compares equal to its one-line source.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

func TestRenderGolden(t *testing.T) {
	anh, phuoc := Sample(0), Sample(1)
	phuocLong := phuoc
	phuocLong.PlaceOfResidence = longAddress
	tests := []struct {
		name   string
		design string
		card   layout.Card
		want   []string // exact lines or phrases in pdftotext output (NFC)
	}{
		{"2024-anh", "can-cuoc-2024", anh, []string{
			"Nguyễn Thị Ngọc Ánh", "CĂN CƯỚC", "IDENTITY CARD", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
			"Độc lập - Tự do - Hạnh phúc", "Họ, chữ đệm và tên khai sinh / Full name",
			"Số định danh cá nhân / Personal identification number", "Nơi cư trú / Place of residence",
			"BỘ CÔNG AN", "Không thời hạn",
		}},
		{"2024-phuoc-long-address", "can-cuoc-2024", phuocLong, []string{"Đặng Hữu Phước", "Nam", "Việt Nam"}},
		{"2021-anh", "cccd-2021", anh, []string{
			"Nguyễn Thị Ngọc Ánh", "CĂN CƯỚC CÔNG DÂN", "Citizen Identity Card", "Họ và tên / Full name:",
			"Quê quán / Place of origin:", "Đặc điểm nhân dạng / Personal identification:",
			"Ngón trỏ trái", "Ngón trỏ phải", "CỤC TRƯỞNG CỤC CẢNH SÁT",
		}},
		{"2021-phuoc-long-address", "cccd-2021", phuocLong, []string{"Đặng Hữu Phước", "Nốt ruồi cách 2 cm trên sau đuôi mắt trái"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdf := renderFile(t, design(t, tt.design), tt.card)
			text := string(tool(t, "pdftotext", "-enc", "UTF-8", pdf, "-"))
			if !norm.NFC.IsNormalString(text) {
				t.Errorf("pdftotext output is not NFC")
			}
			want := append(tt.want, tt.card.IDNumber, tt.card.DateOfBirth, tt.card.IssueDate)
			for _, w := range want {
				if !strings.Contains(text, w) {
					t.Errorf("pdftotext output lacks %q", w)
				}
			}
			lines := strings.Split(text, "\n")
			for _, name := range []string{tt.card.FullName} {
				if !containsLine(lines, name) {
					t.Errorf("no line of pdftotext output is exactly %q", name)
				}
			}
			for i, l := range tt.card.MRZ {
				if !containsLine(lines, l) {
					t.Errorf("MRZ line %d %q not extracted exactly", i+1, l)
				}
			}
			if !strings.Contains(collapse(text), collapse(tt.card.PlaceOfResidence)) {
				t.Errorf("address %q not extracted whole:\n%s", tt.card.PlaceOfResidence, text)
			}
			for page, face := range []string{"front", "back"} {
				got := rasterize(t, pdf, page+1, goldenDPI)
				compareGolden(t, got, filepath.Join("testdata", tt.name+"-"+face+".png"))
			}
		})
	}
}

func containsLine(lines []string, s string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) == s {
			return true
		}
	}
	return false
}

// rasterize renders one page of pdf to PNG bytes with pdftoppm.
func rasterize(t *testing.T, pdf string, page int, dpi string) []byte {
	t.Helper()
	prefix := filepath.Join(t.TempDir(), "page")
	p := fmt.Sprint(page)
	tool(t, "pdftoppm", "-png", "-r", dpi, "-f", p, "-l", p, "-singlefile", pdf, prefix)
	b, err := os.ReadFile(prefix + ".png")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func compareGolden(t *testing.T, got []byte, golden string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("golden %s: %v (regenerate with go test -update)", golden, err)
	}
	ratio, err := diffRatio(got, want)
	if err == nil && ratio <= maxDiffRatio {
		return
	}
	out := filepath.Join(t.TempDir(), filepath.Base(golden))
	_ = os.WriteFile(out, got, 0o644)
	if err != nil {
		t.Fatalf("%s: %v; got %s", golden, err, out)
	}
	t.Errorf("%s: %.3f%% of pixels differ (max %.3f%%); got %s", golden, 100*ratio, 100*maxDiffRatio, out)
}

func diffRatio(a, b []byte) (float64, error) {
	ia, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		return 0, err
	}
	ib, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	if ia.Bounds() != ib.Bounds() {
		return 0, fmt.Errorf("size %v, golden %v", ia.Bounds().Size(), ib.Bounds().Size())
	}
	r := ia.Bounds()
	diff := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if pixelDiffers(ia, ib, x, y) {
				diff++
			}
		}
	}
	return float64(diff) / float64(r.Dx()*r.Dy()), nil
}

func pixelDiffers(a, b image.Image, x, y int) bool {
	r1, g1, b1, _ := a.At(x, y).RGBA()
	r2, g2, b2, _ := b.At(x, y).RGBA()
	for _, d := range [][2]uint32{{r1, r2}, {g1, g2}, {b1, b2}} {
		if d0, d1 := int(d[0]>>8), int(d[1]>>8); d0-d1 > pixelTolerance || d1-d0 > pixelTolerance {
			return true
		}
	}
	return false
}

func TestRenderErrors(t *testing.T) {
	tooLong := Sample(1)
	tooLong.PlaceOfResidence = strings.Repeat(longAddress+" ", 3)
	unsupported := Sample(0)
	unsupported.FullName = "Nguyễn 中 Ánh"
	badJPEG := Sample(0)
	badJPEG.Portrait = []byte{0xff, 0xd8, 0xff, 0x00, 0x01}
	huge := Sample(0)
	huge.Portrait = bytes.Clone(huge.Portrait)
	sof := bytes.Index(huge.Portrait, []byte{0xff, 0xc0}) // baseline SOF: length, precision, height, width
	copy(huge.Portrait[sof+5:], []byte{0xff, 0xff, 0xff, 0xff})
	badMRZ := Sample(0)
	badMRZ.MRZ[1] = "short"
	noFeatures := Sample(0)
	noFeatures.IdentifyingFeatures = ""
	longWord := Sample(0)
	longWord.FullName = strings.Repeat("Ư", 80)
	tests := []struct {
		name      string
		design    string
		card      layout.Card
		wantErr   error
		wantField string // the message must name it
	}{
		{"address too long for 2024", "can-cuoc-2024", tooLong, ErrTextOverflow, "PlaceOfResidence"},
		{"address too long for 2021", "cccd-2021", tooLong, ErrTextOverflow, "PlaceOfResidence"},
		{"unbreakable name", "can-cuoc-2024", longWord, ErrTextOverflow, "FullName"},
		{"character outside the font", "can-cuoc-2024", unsupported, ErrUnsupportedChar, "FullName"},
		{"corrupt portrait", "can-cuoc-2024", badJPEG, layout.ErrInvalidCard, "Portrait"},
		{"65535 px portrait", "can-cuoc-2024", huge, layout.ErrInvalidCard, "65535x65535 px"},
		{"short MRZ line", "cccd-2021", badMRZ, layout.ErrInvalidCard, "MRZ line 2"},
		{"empty required field", "cccd-2021", noFeatures, layout.ErrInvalidCard, "IdentifyingFeatures"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Render(&buf, design(t, tt.design), Sample(2), tt.card)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Render error = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantField) || !strings.Contains(err.Error(), "card 1") {
				t.Errorf("error %q does not name card 1 and %s", err, tt.wantField)
			}
			var ee *ElementError
			if errors.As(err, &ee) && (ee.Card != 1 || !strings.Contains(ee.Element, tt.wantField)) {
				t.Errorf("ElementError %+v does not point at card 1 %s", ee, tt.wantField)
			}
			if buf.Len() != 0 {
				t.Errorf("%d bytes written despite the error", buf.Len())
			}
		})
	}
	t.Run("no cards", func(t *testing.T) {
		if err := Render(&bytes.Buffer{}, design(t, layout.DefaultDesign)); !errors.Is(err, ErrNoCards) {
			t.Errorf("Render() = %v, want ErrNoCards", err)
		}
	})
}

func TestRenderNormalizesToNFC(t *testing.T) {
	c := Sample(0)
	c.FullName = norm.NFD.String("Nguyễn Thị Ngọc Ánh")
	c.PlaceOfResidence = norm.NFD.String(c.PlaceOfResidence)
	pdf := renderFile(t, design(t, layout.DefaultDesign), c)
	text := string(tool(t, "pdftotext", "-enc", "UTF-8", pdf, "-"))
	if !containsLine(strings.Split(text, "\n"), "Nguyễn Thị Ngọc Ánh") {
		t.Errorf("NFD name not printed as NFC:\n%s", text)
	}
}

func TestRenderPages(t *testing.T) {
	tests := []struct {
		name  string
		cards int
		pages string
	}{{"one card", 1, "2"}, {"three cards", 3, "6"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cards []layout.Card
			for i := range tt.cards {
				cards = append(cards, Sample(i))
			}
			info := string(tool(t, "pdfinfo", renderFile(t, design(t, layout.DefaultDesign), cards...)))
			if !strings.Contains(info, "Pages:           "+tt.pages+"\n") {
				t.Errorf("want %s pages:\n%s", tt.pages, info)
			}
			// CR80: 85.60 x 53.98 mm = 242.65 x 153.01 pt.
			if !strings.Contains(info, "Page size:       242.65 x 153.01 pts") {
				t.Errorf("page is not CR80:\n%s", info)
			}
			text := string(tool(t, "pdftotext", "-enc", "UTF-8", renderFile(t, design(t, layout.DefaultDesign), cards...), "-"))
			for _, c := range cards {
				if !strings.Contains(text, c.FullName) {
					t.Errorf("name %q missing", c.FullName)
				}
			}
		})
	}
}

func TestProofSheet(t *testing.T) {
	var cards []layout.Card
	for i := range 5 {
		cards = append(cards, Sample(i))
	}
	var buf bytes.Buffer
	if err := ProofSheet(&buf, design(t, layout.DefaultDesign), cards...); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "proof.pdf")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	info := string(tool(t, "pdfinfo", path))
	for _, want := range []string{"Pages:           2\n", "(A4)"} {
		if !strings.Contains(info, want) {
			t.Errorf("pdfinfo lacks %q:\n%s", want, info)
		}
	}
	text := string(tool(t, "pdftotext", "-enc", "UTF-8", path, "-"))
	for _, c := range cards {
		for _, w := range append([]string{c.FullName}, c.MRZ[:]...) {
			if !strings.Contains(text, w) {
				t.Errorf("proof sheet lacks %q", w)
			}
		}
	}
	for _, w := range []string{"Bản in thử / Print proof", "Trang / Page 2/2"} {
		if !strings.Contains(text, w) {
			t.Errorf("proof sheet lacks %q", w)
		}
	}
	compareGolden(t, rasterize(t, path, 1, "50"), filepath.Join("testdata", "proof-can-cuoc-2024-page1.png"))
}

// TestRenderConcurrent renders from several goroutines at once: the cached font
// subsets are shared between documents (run with -race).
func TestRenderConcurrent(t *testing.T) {
	d := design(t, "cccd-2021")
	errs := make(chan error, 4)
	for i := range 4 {
		go func() {
			var buf bytes.Buffer
			errs <- Render(&buf, d, Sample(i), Sample(i+4))
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestRenderIssuancePortrait renders a card whose portrait comes from the
// synthetic portrait generator used elsewhere in the project.
func TestRenderIssuancePortrait(t *testing.T) {
	tests := []struct {
		name string
		seed int64
	}{{"seed 1", 1}, {"seed 42", 42}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jpg, err := portrait.Generate(tt.seed)
			if err != nil {
				t.Fatal(err)
			}
			c := Sample(int(tt.seed))
			c.Portrait = jpg
			text := string(tool(t, "pdftotext", "-enc", "UTF-8", renderFile(t, design(t, layout.DefaultDesign), c), "-"))
			if !strings.Contains(text, c.FullName) {
				t.Errorf("name %q missing", c.FullName)
			}
		})
	}
}

// TestQRDecodes reads the printed QR code back with zbar from a 300 dpi scan of
// the face that carries it and compares it with layout.QRPayload.
func TestQRDecodes(t *testing.T) {
	long := Sample(1)
	long.PlaceOfResidence = longAddress
	tests := []struct {
		name   string
		design string
		page   int
		card   layout.Card
	}{
		{"2024 back", "can-cuoc-2024", 2, Sample(0)},
		{"2024 back, long address", "can-cuoc-2024", 2, long},
		{"2021 front", "cccd-2021", 1, Sample(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdf := renderFile(t, design(t, tt.design), tt.card)
			png := filepath.Join(t.TempDir(), "face.png")
			if err := os.WriteFile(png, rasterize(t, pdf, tt.page, "300"), 0o644); err != nil {
				t.Fatal(err)
			}
			got := strings.TrimSuffix(string(tool(t, "zbarimg", "--raw", "-q", png)), "\n")
			if want := layout.QRPayload(tt.card); got != want {
				t.Errorf("QR decodes to %q, want %q", got, want)
			}
		})
	}
}
