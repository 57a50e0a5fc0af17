package bp256

import "testing"

func BenchmarkFeMul(b *testing.B) {
	x, y := theCurve.g.x, theCurve.g.y
	for b.Loop() {
		feMul(&x, &x, &y)
	}
}

func BenchmarkFeInv(b *testing.B) {
	x := theCurve.g.x
	for b.Loop() {
		feInv(&x, &x)
	}
}

func BenchmarkFeAdd(b *testing.B) {
	x, y := theCurve.g.x, theCurve.g.y
	for b.Loop() {
		feAdd(&x, &x, &y)
	}
}

func BenchmarkDouble(b *testing.B) {
	p := theCurve.g
	for b.Loop() {
		p.double(&p)
	}
}

func BenchmarkPointAdd(b *testing.B) {
	p, q := theCurve.g, theCurve.g
	q.double(&q)
	for b.Loop() {
		p.add(&p, &q)
	}
}
