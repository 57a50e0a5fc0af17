package fonts

import (
	"encoding/binary"
	"errors"
	"math"
	"sync"
)

// ptMM is one typographic point in millimetres.
const ptMM = 25.4 / 72

// sansWidths holds the advance width of every rune the sans font maps, in thousandths of an
// em rounded as a PDF font's widths array holds them (ISO 32000-1 §9.7.4.3), which is also
// what fpdf measures with.
var sansWidths = sync.OnceValues(func() (map[rune]int, error) { return advanceWidths(sans) })

// SansWidth returns the width in millimetres of s set in the sans font at size points,
// without kerning, as the card renderer sets it. A rune the font lacks counts 500/1000 em.
func SansWidth(s string, size float64) float64 {
	w, err := sansWidths()
	if err != nil {
		panic("fonts: embedded sans font: " + err.Error()) // the embedded font is tested
	}
	total := 0
	for _, r := range s {
		if a, ok := w[r]; ok {
			total += a
		} else {
			total += 500
		}
	}
	return float64(total) * size / 1000 * ptMM
}

var errFont = errors.New("fonts: malformed TrueType font")

// advanceWidths reads the Windows Unicode BMP cmap (format 4) and hmtx tables of a TrueType
// font (OpenType spec: cmap, head, hhea, hmtx) into rune -> advance in 1/1000 em.
func advanceWidths(font []byte) (map[rune]int, error) {
	tables, err := tableDirectory(font)
	if err != nil {
		return nil, err
	}
	head, hhea, hmtx := tables["head"], tables["hhea"], tables["hmtx"]
	if len(head) < 20 || len(hhea) < 36 {
		return nil, errFont
	}
	be := binary.BigEndian
	upem := float64(be.Uint16(head[18:]))
	nMetrics := int(be.Uint16(hhea[34:]))
	if upem == 0 || nMetrics == 0 || len(hmtx) < 4*nMetrics {
		return nil, errFont
	}
	glyphs, err := cmapFormat4(tables["cmap"])
	if err != nil {
		return nil, err
	}
	out := make(map[rune]int, len(glyphs))
	for r, g := range glyphs {
		i := min(g, nMetrics-1) // glyphs past numberOfHMetrics share the last advance
		out[r] = int(math.Round(1000 / upem * float64(be.Uint16(hmtx[4*i:]))))
	}
	return out, nil
}

func tableDirectory(font []byte) (map[string][]byte, error) {
	be := binary.BigEndian
	if len(font) < 12 {
		return nil, errFont
	}
	n := int(be.Uint16(font[4:]))
	if len(font) < 12+16*n {
		return nil, errFont
	}
	out := map[string][]byte{}
	for i := 0; i < n; i++ {
		rec := font[12+16*i:]
		off, ln := uint64(be.Uint32(rec[8:])), uint64(be.Uint32(rec[12:]))
		if off+ln > uint64(len(font)) {
			return nil, errFont
		}
		out[string(rec[:4])] = font[off : off+ln]
	}
	return out, nil
}

// cmapFormat4 returns rune -> glyph index from the Windows Unicode BMP (3,1) format 4
// subtable of a cmap table.
func cmapFormat4(cmap []byte) (map[rune]int, error) {
	be := binary.BigEndian
	if len(cmap) < 4 {
		return nil, errFont
	}
	for i := 0; i < int(be.Uint16(cmap[2:])); i++ {
		if len(cmap) < 4+8*i+8 {
			return nil, errFont
		}
		rec := cmap[4+8*i:]
		if be.Uint16(rec) != 3 || be.Uint16(rec[2:]) != 1 {
			continue
		}
		off := int(be.Uint32(rec[4:]))
		if off+16 > len(cmap) || be.Uint16(cmap[off:]) != 4 {
			continue
		}
		sub := cmap[off:]
		segX2 := int(be.Uint16(sub[6:]))
		if len(sub) < 16+4*segX2 {
			return nil, errFont
		}
		ends, starts := sub[14:], sub[16+segX2:]
		deltas, ranges := sub[16+2*segX2:], sub[16+3*segX2:]
		got := map[rune]int{}
		for s := 0; s < segX2; s += 2 {
			end, start := int(be.Uint16(ends[s:])), int(be.Uint16(starts[s:]))
			delta, ro := int(be.Uint16(deltas[s:])), int(be.Uint16(ranges[s:]))
			for c := start; c <= end && c != 0xffff; c++ {
				gid := 0
				if ro == 0 {
					gid = (c + delta) & 0xffff
				} else {
					p := s + ro + 2*(c-start)
					if p+2 > len(ranges) {
						return nil, errFont
					}
					if g := int(be.Uint16(ranges[p:])); g != 0 {
						gid = (g + delta) & 0xffff
					}
				}
				if gid != 0 {
					got[rune(c)] = gid
				}
			}
		}
		return got, nil
	}
	return nil, errors.New("fonts: no (3,1) format 4 cmap subtable")
}
