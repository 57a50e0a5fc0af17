package render

import (
	"io"
	"testing"

	"github.com/cccd-project/cccd/printqueue/layout"
)

// BenchmarkRenderCard renders one card (front and back) per PDF document, the
// shape of one print job; faces/s is reported as a metric.
func BenchmarkRenderCard(b *testing.B) {
	for _, name := range layout.Names() {
		b.Run(name, func(b *testing.B) {
			d, err := layout.Lookup(name)
			if err != nil {
				b.Fatal(err)
			}
			cards := []layout.Card{Sample(0), Sample(1), Sample(2), Sample(3)}
			loadFonts()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if err := Render(io.Discard, d, cards[i%len(cards)]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(2*float64(b.N)/b.Elapsed().Seconds(), "faces/s")
		})
	}
}

// BenchmarkRenderBatch renders 50 cards per PDF document.
func BenchmarkRenderBatch(b *testing.B) {
	d, err := layout.Lookup(layout.DefaultDesign)
	if err != nil {
		b.Fatal(err)
	}
	cards := make([]layout.Card, 50)
	for i := range cards {
		cards[i] = Sample(i)
	}
	loadFonts()
	for b.Loop() {
		if err := Render(io.Discard, d, cards...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(2*float64(len(cards)*b.N)/b.Elapsed().Seconds(), "faces/s")
}
