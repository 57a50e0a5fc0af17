package portrait

import (
	"flag"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

var dump = flag.String("dump", "", "write sample portraits as PNG into this directory (for looking at them)")

func TestDump(t *testing.T) {
	if *dump == "" {
		return
	}
	// A contact sheet of 8 portraits at half size.
	sheet := image.NewRGBA(image.Rect(0, 0, 4*Width/2, 2*Height/2))
	for i := 0; i < 8; i++ {
		img := Render(int64(i))
		ox, oy := (i%4)*Width/2, (i/4)*Height/2
		for y := 0; y < Height/2; y++ {
			for x := 0; x < Width/2; x++ {
				sheet.Set(ox+x, oy+y, img.At(2*x, 2*y))
			}
		}
	}
	sf, err := os.Create(filepath.Join(*dump, "sheet.png"))
	if err != nil {
		t.Fatal(err)
	}
	png.Encode(sf, sheet)
	sf.Close()
	for seed := int64(0); seed < 8; seed++ {
		f, err := os.Create(filepath.Join(*dump, "portrait-"+strconv.FormatInt(seed, 10)+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, Render(seed)); err != nil {
			t.Fatal(err)
		}
		f.Close()
		b, _ := Generate(seed)
		t.Logf("seed %d: %d bytes", seed, len(b))
	}
}

// TestLayout checks the ICAO proportions of the drawn head: crown to chin 70-80 % of the height, crown in the
// top 10 %, face centred, and that the drawing actually starts at the crown.
func TestLayout(t *testing.T) {
	styles, skinsSeen := map[int]bool{}, map[rgb]bool{}
	for seed := int64(0); seed < 200; seed++ {
		f := layout(seed)
		styles[f.style], skinsSeen[f.skin] = true, true
		if h := (f.chin - f.crown) / Height; h < 0.70 || h > 0.80 {
			t.Errorf("seed %d: head is %.2f of the height, want 0.70-0.80", seed, h)
		}
		if f.crown < 0.03*Height || f.crown > 0.10*Height {
			t.Errorf("seed %d: crown at %.0f px", seed, f.crown)
		}
		if d := f.cx - Width/2; d < -0.02*Width || d > 0.02*Width {
			t.Errorf("seed %d: face off centre by %.0f px", seed, d)
		}
		if f.style == hairBun {
			continue // the bun rises above the crown
		}
		img := Render(seed)
		top := -1
		for y := 0; y < Height && top < 0; y++ {
			if d := int(img.Y[y*img.YStride+Width/2]) - int(img.Y[y*img.YStride+2]); d < -30 || d > 30 {
				top = y
			}
		}
		if float64(top) < f.crown-3 || float64(top) > f.crown+f.ry*0.2 {
			t.Errorf("seed %d: drawing starts at y=%d, crown at %.0f", seed, top, f.crown)
		}
	}
	if len(styles) != hairStyles || len(skinsSeen) < 5 {
		t.Errorf("little variety in 200 seeds: %d hair styles, %d skin tones", len(styles), len(skinsSeen))
	}
}
