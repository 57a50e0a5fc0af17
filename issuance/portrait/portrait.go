// Package portrait draws synthetic identity-card portraits: clearly drawn, cartoon-like head-and-shoulders
// pictures (never a photograph, never a real person's face) with the proportions of a passport photo
// (ICAO Doc 9303-3 §3.9 and the ICAO portrait quality guidelines: 35x45 mm, head 70-80 % of the height,
// centred, light uniform background). They fill the portrait field of test applications and of DG2.
//
// Generate is deterministic: the same seed always gives the same JPEG bytes.
package portrait

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
)

// Size of the generated image: 390x500 pixels, the 35:45 aspect ratio of an ICAO photo at ~283 dpi.
const (
	Width  = 390
	Height = 500
)

// Quality is the JPEG quality used by Generate; with the drawn detail it gives files of about 20 KB.
const Quality = 80

type rgb struct{ r, g, b uint8 }

// Palettes. Skin tones run from light to dark brown; hair is mostly black or dark brown.
var (
	skins = []rgb{{246, 214, 188}, {238, 200, 168}, {226, 184, 148}, {212, 165, 126}, {190, 140, 100}, {160, 112, 78}, {124, 84, 58}}
	hairs = []rgb{{22, 20, 22}, {30, 26, 26}, {40, 30, 26}, {58, 40, 30}, {86, 60, 40}, {120, 116, 112}, {190, 188, 184}}
	// hairWeights makes black and near-black hair the common case.
	hairWeights = []int{30, 25, 15, 10, 6, 8, 6}
	shirts      = []rgb{{212, 216, 222}, {196, 220, 240}, {40, 56, 96}, {120, 124, 130}, {30, 30, 34}, {120, 30, 40},
		{46, 100, 70}, {210, 180, 120}, {90, 60, 120}}
	backgrounds = []rgb{{244, 245, 247}, {236, 242, 250}, {248, 248, 246}, {232, 238, 246}}
)

// Hair styles.
const (
	hairShort = iota
	hairSidePart
	hairLong
	hairBun
	hairStyles
)

// face is the geometry of one portrait, in pixels.
type face struct {
	cx, cy, rx, ry float64 // face ellipse (hairline to chin)
	crown, chin    float64 // top of hair and bottom of chin
	skin, hair     rgb
	shirt, bg      rgb
	style          int
	eyeDX, eyeY    float64
	mouthW         float64
	brow           float64 // eyebrow thickness
	collar         bool    // shirt collar (white triangles) or round neck
	stripes        bool    // striped shirt
	seed           uint64
}

// layout picks the geometry and colours of the portrait for seed.
func layout(seed int64) face {
	r := rand.New(rand.NewPCG(uint64(seed), 0x9E3779B97F4A7C15))
	var f face
	f.seed = uint64(seed)*0x9E3779B97F4A7C15 + 1
	head := Height * (0.72 + 0.06*r.Float64()) // crown to chin: 72-78 % of the height
	f.crown = Height * (0.06 + 0.03*r.Float64())
	f.chin = f.crown + head
	hairTop := 0.09 + 0.05*r.Float64() // hair above the skull, as a share of the head height
	f.cy = f.crown + head*hairTop + (head*(1-hairTop))/2
	f.ry = head * (1 - hairTop) / 2
	f.rx = f.ry * (0.66 + 0.08*r.Float64())
	f.cx = Width/2 + (r.Float64()-0.5)*6
	f.skin = skins[r.IntN(len(skins))]
	f.hair = hairs[weighted(r, hairWeights)]
	f.shirt = shirts[r.IntN(len(shirts))]
	f.bg = backgrounds[r.IntN(len(backgrounds))]
	f.style = r.IntN(hairStyles)
	f.eyeDX = f.rx * (0.36 + 0.06*r.Float64())
	f.eyeY = f.cy - f.ry*(0.02+0.06*r.Float64())
	f.mouthW = f.rx * (0.30 + 0.12*r.Float64())
	f.brow = 4 + 4*r.Float64()
	f.collar = r.IntN(2) == 0
	f.stripes = r.IntN(4) == 0
	return f
}

func weighted(r *rand.Rand, w []int) int {
	total := 0
	for _, x := range w {
		total += x
	}
	n := r.IntN(total)
	for i, x := range w {
		if n < x {
			return i
		}
		n -= x
	}
	return len(w) - 1
}

// Generate returns the JPEG of the synthetic portrait for seed.
func Generate(seed int64) ([]byte, error) {
	img := Render(seed)
	var b bytes.Buffer
	b.Grow(24 << 10)
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: Quality}); err != nil {
		return nil, fmt.Errorf("portrait: encode: %w", err)
	}
	return b.Bytes(), nil
}

// Render draws the portrait for seed and returns it uncompressed (4:2:0 YCbCr, ready for image/jpeg).
func Render(seed int64) *image.YCbCr {
	f := layout(seed)
	c := newCanvas(f.bg)
	f.draw(c)
	return c.ycbcr()
}

// draw paints the layers back to front.
func (f *face) draw(c *canvas) {
	dark := func(k rgb, p int) rgb { return shade(k, -p) }
	// Long hair and bun behind the head.
	switch f.style {
	case hairLong:
		c.ellipse(f.cx, f.cy+f.ry*0.35, f.rx*1.28, f.ry*1.15, f.hair, 14, f.seed, nil)
	case hairBun:
		c.ellipse(f.cx, f.crown+f.ry*0.08, f.rx*0.42, f.ry*0.2, f.hair, 14, f.seed, nil)
	}
	// Shoulders and shirt.
	shoulderTop := f.chin - f.ry*0.05
	shirt := func(x, y int) rgb {
		k := f.shirt
		if f.stripes && (x/9)%2 == 0 {
			k = shade(k, 28)
		}
		return k
	}
	c.ellipseFn(f.cx, Height+f.ry*0.55, Width*0.62, Height-shoulderTop+f.ry*0.55, shirt, 6, f.seed+1, nil)
	// Neck.
	neckW := f.rx * 0.5
	c.rect(f.cx-neckW, f.cy+f.ry*0.6, f.cx+neckW, shoulderTop+f.ry*0.22, dark(f.skin, 22), 3, f.seed+2)
	// Collar: either two white triangles or a round neckline.
	if f.collar {
		c.triangle(f.cx-neckW*1.6, shoulderTop+4, f.cx-2, shoulderTop+f.ry*0.35, f.cx-neckW*1.1, shoulderTop+f.ry*0.42, rgb{250, 250, 250})
		c.triangle(f.cx+neckW*1.6, shoulderTop+4, f.cx+2, shoulderTop+f.ry*0.35, f.cx+neckW*1.1, shoulderTop+f.ry*0.42, rgb{250, 250, 250})
	} else {
		c.ellipse(f.cx, shoulderTop+f.ry*0.1, neckW*1.15, f.ry*0.18, dark(f.skin, 22), 3, f.seed+3, func(x, y float64) bool { return y > shoulderTop-2 })
	}
	// Ears.
	for _, s := range []float64{-1, 1} {
		c.ellipse(f.cx+s*f.rx*0.97, f.eyeY+f.ry*0.12, f.rx*0.15, f.ry*0.17, dark(f.skin, 12), 4, f.seed+4, nil)
	}
	// Face with a soft light from the front.
	c.ellipseFn(f.cx, f.cy, f.rx, f.ry, func(x, y int) rgb {
		dx, dy := (float64(x)-f.cx)/f.rx, (float64(y)-f.cy+f.ry*0.2)/f.ry
		return shade(f.skin, int(18-26*(dx*dx+dy*dy)))
	}, 3, f.seed+5, nil)
	f.drawHair(c)
	f.drawFeatures(c)
}

// drawHair paints the hair over the top of the head with a wavy hairline.
func (f *face) drawHair(c *canvas) {
	hairline := f.cy - f.ry*0.55
	part := f.cx + f.rx*0.3
	// The hairline depends only on x: compute it once per column.
	var edges [Width]float64
	for x := range edges {
		fx := float64(x)
		wave := 6 * math.Sin((fx-f.cx)/f.rx*4+float64(f.seed%7))
		edge := hairline + wave + math.Abs(fx-f.cx)/f.rx*f.ry*0.35
		if f.style == hairSidePart && fx > part {
			edge -= 14
		}
		if f.style == hairShort {
			edge -= 8
		}
		edges[x] = edge
	}
	clip := func(x, y float64) bool { return y < edges[int(x)] }
	lowest := 0.0
	for _, e := range edges {
		lowest = max(lowest, e)
	}
	hcy := f.cy - f.ry*0.06 // the hair ellipse reaches exactly up to the crown
	hair := func(int, int) rgb { return f.hair }
	c.ellipseRows(f.cx, hcy, f.rx*1.07, hcy-f.crown, hair, 16, f.seed+6, clip, int(math.Ceil(lowest))+1)
	if f.style == hairLong {
		// Strands falling in front of the shoulders, beside the face.
		for _, s := range []float64{-1, 1} {
			c.rect(f.cx+s*f.rx*1.02-f.rx*0.12, f.cy-f.ry*0.4, f.cx+s*f.rx*1.02+f.rx*0.12, f.cy+f.ry*0.9, f.hair, 14, f.seed+7)
		}
	}
}

// drawFeatures paints eyebrows, eyes, nose and mouth.
func (f *face) drawFeatures(c *canvas) {
	white := rgb{248, 248, 246}
	iris := rgb{52, 36, 28}
	for _, s := range []float64{-1, 1} {
		ex := f.cx + s*f.eyeDX
		c.ellipse(ex, f.eyeY-f.ry*0.13, f.rx*0.17, f.brow, shade(f.hair, 10), 6, f.seed+8, nil)
		c.ellipse(ex, f.eyeY, f.rx*0.14, f.ry*0.045, white, 0, 0, nil)
		c.ellipse(ex, f.eyeY, f.ry*0.04, f.ry*0.04, iris, 4, f.seed+9, nil)
		c.ellipse(ex, f.eyeY, f.ry*0.018, f.ry*0.018, rgb{10, 10, 10}, 0, 0, nil)
		c.ellipse(ex, f.eyeY-f.ry*0.045, f.rx*0.15, 2.2, shade(f.skin, -90), 0, 0, nil) // upper lid line
	}
	nose := shade(f.skin, -38)
	c.ellipse(f.cx, f.cy+f.ry*0.18, f.rx*0.05, f.ry*0.16, shade(f.skin, -14), 4, f.seed+10, nil)
	for _, s := range []float64{-1, 1} {
		c.ellipse(f.cx+s*f.rx*0.09, f.cy+f.ry*0.32, f.rx*0.05, f.ry*0.022, nose, 0, 0, nil)
	}
	lip := rgb{uint8(min(255, int(f.skin.r)-10)), uint8(int(f.skin.g) * 6 / 10), uint8(int(f.skin.b) * 6 / 10)}
	c.ellipse(f.cx, f.cy+f.ry*0.54, f.mouthW, f.ry*0.06, lip, 6, f.seed+11, nil)
	c.rect(f.cx-f.mouthW*0.9, f.cy+f.ry*0.535, f.cx+f.mouthW*0.9, f.cy+f.ry*0.545+1.5, shade(lip, -60), 0, 0)
}

// shade brightens (d > 0) or darkens (d < 0) a colour.
func shade(k rgb, d int) rgb {
	return rgb{clamp8(int(k.r) + d), clamp8(int(k.g) + d), clamp8(int(k.b) + d)}
}

func clamp8(v int) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}
