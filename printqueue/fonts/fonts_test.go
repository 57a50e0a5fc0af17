package fonts

import (
	"bytes"
	"encoding/binary"
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

// cmapFormat4 returns the set of code points mapped to a glyph by the Windows
// Unicode BMP (3,1) format 4 subtable of a TrueType font (OpenType spec, cmap).
func cmapFormat4(font []byte) (map[rune]bool, error) {
	be := binary.BigEndian
	if len(font) < 12 {
		return nil, fmt.Errorf("short font")
	}
	n := int(be.Uint16(font[4:]))
	var cmap []byte
	for i := 0; i < n; i++ {
		rec := font[12+16*i:]
		if string(rec[:4]) == "cmap" {
			off, ln := be.Uint32(rec[8:]), be.Uint32(rec[12:])
			cmap = font[off : off+ln]
		}
	}
	if cmap == nil {
		return nil, fmt.Errorf("no cmap table")
	}
	for i := 0; i < int(be.Uint16(cmap[2:])); i++ {
		rec := cmap[4+8*i:]
		if be.Uint16(rec) != 3 || be.Uint16(rec[2:]) != 1 {
			continue
		}
		sub := cmap[be.Uint32(rec[4:]):]
		if be.Uint16(sub) != 4 {
			continue
		}
		segX2 := int(be.Uint16(sub[6:]))
		ends, starts := sub[14:], sub[16+segX2:]
		deltas, ranges := sub[16+2*segX2:], sub[16+3*segX2:]
		got := map[rune]bool{}
		for s := 0; s < segX2; s += 2 {
			end, start := int(be.Uint16(ends[s:])), int(be.Uint16(starts[s:]))
			delta, ro := int(be.Uint16(deltas[s:])), int(be.Uint16(ranges[s:]))
			for c := start; c <= end && c != 0xffff; c++ {
				gid := 0
				if ro == 0 {
					gid = (c + delta) & 0xffff
				} else {
					p := s + ro + 2*(c-start)
					if g := int(be.Uint16(ranges[p:])); g != 0 {
						gid = (g + delta) & 0xffff
					}
				}
				if gid != 0 {
					got[rune(c)] = true
				}
			}
		}
		return got, nil
	}
	return nil, fmt.Errorf("no (3,1) format 4 cmap subtable")
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
			cov, err := cmapFormat4(tt.font)
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
