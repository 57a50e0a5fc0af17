package fonts

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"codeberg.org/go-pdf/fpdf"
)

var update = flag.Bool("update", false, "regenerate OCRB.json and OCRB.z from OCRB.ttf")

// cp1252 is the Windows-1252 code page map fpdf.MakeFont reads, written out in
// its format ("!hex U+hex name") for the printable ASCII the MRZ needs plus
// the rest of the page left undefined.
func cp1252Map() []byte {
	var b bytes.Buffer
	for c := 0; c < 256; c++ {
		if c >= 0x20 && c <= 0x7e {
			fmt.Fprintf(&b, "!%02X U+%04X ascii%02X\n", c, c, c)
		} else {
			fmt.Fprintf(&b, "!%02X U+%04X .notdef\n", c, c)
		}
	}
	return b.Bytes()
}

// TestOCRBDefinition regenerates the simple-font definition of OCRB.ttf with
// fpdf.MakeFont and compares it with the committed OCRB.json and OCRB.z
// (-update rewrites them).
func TestOCRBDefinition(t *testing.T) {
	dir := t.TempDir()
	mapFile := filepath.Join(dir, "cp1252.map")
	if err := os.WriteFile(mapFile, cp1252Map(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := fpdf.MakeFont("OCRB.ttf", mapFile, dir, nil, true); err != nil {
		t.Fatalf("MakeFont: %v", err)
	}
	def, z := OCRBDefinition()
	for _, f := range []struct {
		name      string
		committed []byte
	}{{"OCRB.json", def}, {"OCRB.z", z}} {
		t.Run(f.name, func(t *testing.T) {
			got, err := os.ReadFile(filepath.Join(dir, f.name))
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.WriteFile(f.name, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if !bytes.Equal(got, f.committed) {
				t.Errorf("%s differs from fpdf.MakeFont output (regenerate with -update)", f.name)
			}
		})
	}
}

// mapped returns the set of code points the font maps to a glyph.
func mapped(font []byte) (map[rune]bool, error) {
	tables, err := tableDirectory(font)
	if err != nil {
		return nil, err
	}
	g, err := cmapFormat4(tables["cmap"])
	if err != nil {
		return nil, err
	}
	out := map[rune]bool{}
	for r := range g {
		out[r] = true
	}
	return out, nil
}

func TestCoverage(t *testing.T) {
	tests := []struct {
		name string
		font []byte
		want string
	}{
		{"sans covers the card repertoire", Sans(), Repertoire()},
		{"sans covers Vietnamese names", Sans(), "Nguyễn Thị Ngọc Ánh Đặng Hữu Phước ỐỒỔỖỘ ƯỪỨỬỮỰ ỳỷỹỵ"},
		{"ocrb covers the MRZ alphabet", OCRB(), MRZAlphabet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cov, err := mapped(tt.font)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range tt.want {
				if !cov[r] {
					t.Errorf("no glyph for %q (U+%04X)", r, r)
				}
			}
		})
	}
}

func TestInRepertoire(t *testing.T) {
	tests := []struct {
		r    rune
		want bool
	}{
		{'A', true}, {'Đ', true}, {'ư', true}, {'ỹ', true}, {'–', true},
		{'\n', false}, {'\u0301', false}, {'中', false}, {'😀', false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("U+%04X", tt.r), func(t *testing.T) {
			if got := InRepertoire(tt.r); got != tt.want {
				t.Errorf("InRepertoire(%q) = %v, want %v", tt.r, got, tt.want)
			}
		})
	}
}
