package portrait

import (
	"image"
	"math"
)

// canvas is an RGB raster the portrait is painted on, three bytes per pixel.
type canvas struct {
	pix []uint8
}

func newCanvas(bg rgb) *canvas {
	c := &canvas{pix: make([]uint8, Width*Height*3)}
	for i := 0; i < len(c.pix); i += 3 {
		c.pix[i], c.pix[i+1], c.pix[i+2] = bg.r, bg.g, bg.b
	}
	return c
}

// noise returns a deterministic value in [-amp, amp] for a pixel: texture for hair, skin and cloth that
// makes the drawing less flat.
func noise(x, y int, seed uint64, amp int) int {
	if amp == 0 {
		return 0
	}
	h := uint64(x)*0x9E3779B97F4A7C15 ^ uint64(y)*0xC2B2AE3D27D4EB4F ^ seed
	h ^= h >> 29
	h *= 0xBF58476D1CE4E5B9
	h ^= h >> 32
	return int(((h>>32)*uint64(2*amp+1))>>32) - amp
}

// blend paints colour k with coverage a (0..256) and texture amplitude amp at (x, y).
func (c *canvas) blend(x, y int, k rgb, a int, amp int, seed uint64) {
	i := (y*Width + x) * 3
	n := noise(x, y, seed, amp)
	r, g, b := clampInt(int(k.r)+n), clampInt(int(k.g)+n), clampInt(int(k.b)+n)
	if a >= 256 {
		c.pix[i], c.pix[i+1], c.pix[i+2] = uint8(r), uint8(g), uint8(b)
		return
	}
	c.pix[i] = uint8((int(c.pix[i])*(256-a) + r*a) >> 8)
	c.pix[i+1] = uint8((int(c.pix[i+1])*(256-a) + g*a) >> 8)
	c.pix[i+2] = uint8((int(c.pix[i+2])*(256-a) + b*a) >> 8)
}

func clampInt(v int) int {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return v
}

// ellipse fills an anti-aliased ellipse in one colour; clip, if not nil, keeps only pixels where it is true.
func (c *canvas) ellipse(cx, cy, rx, ry float64, k rgb, amp int, seed uint64, clip func(x, y float64) bool) {
	c.ellipseFn(cx, cy, rx, ry, func(int, int) rgb { return k }, amp, seed, clip)
}

// ellipseFn fills an anti-aliased ellipse with a colour per pixel.
func (c *canvas) ellipseFn(cx, cy, rx, ry float64, k func(x, y int) rgb, amp int, seed uint64, clip func(x, y float64) bool) {
	c.ellipseRows(cx, cy, rx, ry, k, amp, seed, clip, Height)
}

// ellipseRows is ellipseFn limited to rows above yEnd (a clip that removes every row from yEnd on).
func (c *canvas) ellipseRows(cx, cy, rx, ry float64, k func(x, y int) rgb, amp int, seed uint64,
	clip func(x, y float64) bool, yEnd int) {
	if rx <= 0 || ry <= 0 {
		return
	}
	bx0, bx1 := clampX(int(cx-rx-1)), clampX(int(cx+rx+2))
	y0, y1 := clampY(int(cy-ry-1)), min(clampY(int(cy+ry+2)), yEnd)
	r := math.Min(rx, ry)
	outer := 1 + 2/r + 1/(r*r) // (1 + 1/r)^2: beyond it a pixel is outside by more than one pixel
	for y := y0; y < y1; y++ {
		dy := (float64(y) + 0.5 - cy) / ry
		if dy*dy > outer {
			continue
		}
		// Only the columns whose centre can be within outer: |dx| <= sqrt(outer - dy^2).
		half := rx * math.Sqrt(outer-dy*dy)
		x0, x1 := max(bx0, clampX(int(cx-half-1))), min(bx1, clampX(int(cx+half+2)))
		for x := x0; x < x1; x++ {
			dx := (float64(x) + 0.5 - cx) / rx
			d := dx*dx + dy*dy
			if d > outer {
				continue
			}
			if clip != nil && !clip(float64(x), float64(y)) {
				continue
			}
			a := 256
			if d > 1-2/r {
				a = int((0.5 - (math.Sqrt(d)-1)*r) * 256)
				if a <= 0 {
					continue
				}
				a = min(a, 256)
			}
			c.blend(x, y, k(x, y), a, amp, seed)
		}
	}
}

// rect fills an axis-aligned rectangle (no anti-aliasing needed for the layout).
func (c *canvas) rect(x0f, y0f, x1f, y1f float64, k rgb, amp int, seed uint64) {
	x0, x1 := clampX(int(x0f)), clampX(int(x1f))
	y0, y1 := clampY(int(y0f)), clampY(int(y1f))
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			c.blend(x, y, k, 256, amp, seed)
		}
	}
}

// triangle fills a triangle given its three corners.
func (c *canvas) triangle(ax, ay, bx, by, qx, qy float64, k rgb) {
	x0, x1 := clampX(int(math.Min(ax, math.Min(bx, qx)))), clampX(int(math.Max(ax, math.Max(bx, qx)))+1)
	y0, y1 := clampY(int(math.Min(ay, math.Min(by, qy)))), clampY(int(math.Max(ay, math.Max(by, qy)))+1)
	edge := func(px, py, ux, uy, vx, vy float64) float64 { return (vx-ux)*(py-uy) - (vy-uy)*(px-ux) }
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			px, py := float64(x)+0.5, float64(y)+0.5
			e1, e2, e3 := edge(px, py, ax, ay, bx, by), edge(px, py, bx, by, qx, qy), edge(px, py, qx, qy, ax, ay)
			if (e1 >= 0 && e2 >= 0 && e3 >= 0) || (e1 <= 0 && e2 <= 0 && e3 <= 0) {
				c.blend(x, y, k, 256, 0, 0)
			}
		}
	}
}

func clampX(v int) int { return max(0, min(Width, v)) }
func clampY(v int) int { return max(0, min(Height, v)) }

// ycbcr converts the canvas to 4:2:0 YCbCr (JFIF / ITU-R BT.601 full range, as image/color does), the form
// image/jpeg encodes without another conversion.
func (c *canvas) ycbcr() *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, Width, Height), image.YCbCrSubsampleRatio420)
	for y := 0; y < Height; y++ {
		row := c.pix[y*Width*3:]
		yrow := img.Y[y*img.YStride:]
		for x := 0; x < Width; x++ {
			r, g, b := int32(row[x*3]), int32(row[x*3+1]), int32(row[x*3+2])
			yrow[x] = uint8((19595*r + 38470*g + 7471*b + 1<<15) >> 16)
		}
	}
	// Width and Height are even: each chroma sample averages a full 2x2 block.
	for y := 0; y < Height; y += 2 {
		r0, r1 := c.pix[y*Width*3:(y+1)*Width*3], c.pix[(y+1)*Width*3:(y+2)*Width*3]
		crow, rrow := img.Cb[y/2*img.CStride:], img.Cr[y/2*img.CStride:]
		for x := 0; x < Width; x += 2 {
			i := x * 3
			r := (int32(r0[i]) + int32(r0[i+3]) + int32(r1[i]) + int32(r1[i+3])) >> 2
			g := (int32(r0[i+1]) + int32(r0[i+4]) + int32(r1[i+1]) + int32(r1[i+4])) >> 2
			b := (int32(r0[i+2]) + int32(r0[i+5]) + int32(r1[i+2]) + int32(r1[i+5])) >> 2
			cb := (-11056*r - 21712*g + 32768*b + 257<<15) >> 16
			cr := (32768*r - 27440*g - 5328*b + 257<<15) >> 16
			crow[x/2], rrow[x/2] = uint8(max(0, min(255, cb))), uint8(max(0, min(255, cr)))
		}
	}
	return img
}
