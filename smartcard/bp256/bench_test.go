package bp256_test

import (
	"crypto/elliptic"
	"testing"
)

var benchScalar = []byte{
	0x81, 0xDB, 0x1E, 0xE1, 0x00, 0x15, 0x0F, 0xF2, 0xEA, 0x33, 0x8D, 0x70, 0x82, 0x71, 0xBE, 0x38,
	0x30, 0x0C, 0xB5, 0x42, 0x41, 0xD7, 0x99, 0x50, 0xF7, 0x7B, 0x06, 0x30, 0x39, 0x80, 0x4F, 0x1D,
}

var benchCurves = []struct {
	name  string
	curve elliptic.Curve
}{{"fast", fast}, {"generic", generic}}

func BenchmarkScalarBaseMult(b *testing.B) {
	for _, c := range benchCurves {
		b.Run(c.name, func(b *testing.B) {
			c.curve.ScalarBaseMult(benchScalar) // the table is built once, outside the loop
			b.ReportAllocs()
			for b.Loop() {
				c.curve.ScalarBaseMult(benchScalar)
			}
		})
	}
}

func BenchmarkScalarMult(b *testing.B) {
	px, py := generic.ScalarBaseMult([]byte{0x12, 0x34, 0x56})
	for _, c := range benchCurves {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.curve.ScalarMult(px, py, benchScalar)
			}
		})
	}
}

func BenchmarkAdd(b *testing.B) {
	px, py := generic.ScalarBaseMult([]byte{0x12, 0x34, 0x56})
	for _, c := range benchCurves {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				c.curve.Add(px, py, params.Gx, params.Gy)
			}
		})
	}
}

func BenchmarkIsOnCurve(b *testing.B) {
	for _, c := range benchCurves {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				c.curve.IsOnCurve(params.Gx, params.Gy)
			}
		})
	}
}
